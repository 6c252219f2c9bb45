"""The kernel's exception tree. Parts subclass these; library errors are translated with
``raise ... from exc`` where they happen, and classified there as retryable or permanent."""


class FinpulseError(Exception):
    """Base of every error finpulse raises on purpose."""


class ConfigError(FinpulseError):
    """Settings, rules, sources or another configuration input is invalid. The message names
    the input and what is wrong with it."""


class ContractError(FinpulseError):
    """A message does not match its contract (bad JSON, unknown schema version, bad field)."""


class RetryableError(FinpulseError):
    """A transient failure: the same operation may succeed if tried again."""


class PermanentError(FinpulseError):
    """A failure that will not go away by retrying the same input."""
