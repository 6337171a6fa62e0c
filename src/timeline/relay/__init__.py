"""Publishing the feed to an existing broker (DESIGN §8): NATS JetStream.

- `checkpoint`: where a relay's published feed ends, in PostgreSQL, and the
  advisory lock that lets one relay per stream publish;
- `broker`: the JetStream side: the stream made or checked, the last id it holds;
- `publish`: the relay's loop: feed page → publish each event, awaiting its ack
  → save the checkpoint in batches; reconnects after either side fails;
- `status`: how far behind the feed a relay is.
"""
