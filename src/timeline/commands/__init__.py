"""The write path: one function per command (load, decide, append, apply) in one transaction."""
