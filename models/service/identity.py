"""The service's side of the one customer identity (costing.identity): the raw id is never
stored, only its HMAC under the salt the bot uses too."""

from __future__ import annotations

from costing.identity import SALT_FILE_NAME, hash_customer
from costing.identity import resolve_salt as resolve_install_salt
from models.service.settings import ServiceConfig

__all__ = ["SALT_FILE_NAME", "hash_user", "resolve_salt"]


def resolve_salt(settings: ServiceConfig) -> bytes:
    """The configured salt if set, else the install's salt kept beside the spool file."""
    return resolve_install_salt(
        configured=settings.user_hash_salt, directory=settings.database.spool_path.parent
    )


def hash_user(salt: bytes, user: str | None) -> str | None:
    """HMAC-SHA256 of the user id under the salt, as 64 hex characters."""
    return hash_customer(salt, user)
