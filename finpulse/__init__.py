"""finpulse: the shared kernel (settings, message contracts, Kafka helpers, logging, CLI)."""

__version__ = "0.1.0"
