"""Refusals a person should read: the message says what was wrong and what to do, in Chinese."""


class ServiceError(ValueError):
    """A request that cannot be carried out; nothing was changed."""
