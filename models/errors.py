"""Exception types raised by the models package."""


class DataError(ValueError):
    """A data file (or stdin) cannot be used: the message names the source and the problem."""


class ModelError(ValueError):
    """An adapter directory, task name or label set cannot be used."""
