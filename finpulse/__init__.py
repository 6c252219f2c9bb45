"""finpulse: the shared kernel (settings, message contracts, Kafka helpers, errors, logging and
process lifecycle, consumer lag, ticker matching). It imports no part and not the application
layer (`system`), which holds the CLI."""

__version__ = "0.1.0"
