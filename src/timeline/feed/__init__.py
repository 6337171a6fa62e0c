"""Live delivery of the event feed: server-sent events woken by LISTEN/NOTIFY."""
