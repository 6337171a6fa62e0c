"""The verifiable log: signed checkpoints, the sequencer, and `timeline verify` (docs/log.md)."""
