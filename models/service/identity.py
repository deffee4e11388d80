"""Salted hashes of user ids: the raw id is never stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from models.service.settings import ServiceConfig

SALT_FILE_NAME = "costbot-user-salt"


def resolve_salt(settings: ServiceConfig) -> bytes:
    """The configured salt if set, else a per-install salt kept beside the spool file."""
    if settings.user_hash_salt:
        return settings.user_hash_salt.encode()
    return _install_salt(settings.database.spool_path.parent / SALT_FILE_NAME)


def _install_salt(path: Path) -> bytes:
    """Read the install's salt, creating it (readable by its owner only) on first use."""
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32).encode()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(salt)
    return salt


def hash_user(salt: bytes, user: str | None) -> str | None:
    """HMAC-SHA256 of the user id under the salt, as 64 hex characters."""
    if user is None:
        return None
    return hmac.new(salt, user.encode(), hashlib.sha256).hexdigest()
