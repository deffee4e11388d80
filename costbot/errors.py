"""Exceptions of the face; each subclasses a builtin."""


class SettingsError(ValueError):
    """A configuration value is missing or has the wrong form."""
