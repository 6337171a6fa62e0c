"""timeline: an event-sourced, bitemporal store of conflict timelines."""

__version__ = "0.1.0"
