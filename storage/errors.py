"""Exceptions of the storage package; each subclasses a builtin so callers may catch broadly."""


class StorageUnavailableError(ConnectionError):
    """The database cannot be reached; the write path spools instead of losing records."""


class WriterClosedError(RuntimeError):
    """A record was submitted to a writer that has already been closed."""


class SpoolCorruptError(ValueError):
    """A line in the spool file cannot be read back."""


class SchemaNotCurrentError(RuntimeError):
    """The database's schema is missing or older (or newer) than this code expects."""
