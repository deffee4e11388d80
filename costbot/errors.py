"""Exceptions of the face; each subclasses a builtin."""


class SettingsError(ValueError):
    """A configuration value is missing or has the wrong form."""


class UsageError(ValueError):
    """A command was asked to do something it must not (e.g. write into a folder it did not
    make); the message says what to give instead."""
