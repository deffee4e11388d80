"""One identity for customers: every stored customer id is an HMAC-SHA256 under a secret salt.

The model service (inference records) and the bot (conversations, outcomes) both hash with
`hash_customer` under the salt `resolve_salt` gives them (the configured one, else the install's
own, kept beside the record spool), so one customer has one hash everywhere and records join
outcomes; without the salt, a known id cannot be turned into its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SALT_FILE_NAME = "costbot-user-salt"


def resolve_salt(*, configured: str | None, directory: Path) -> bytes:
    """The configured salt if set, else this install's salt in `directory` (created, readable by
    its owner only, on first use; 64 hex characters)."""
    if configured:
        return configured.encode()
    return _install_salt(directory / SALT_FILE_NAME)


def _install_salt(path: Path) -> bytes:
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


def hash_customer(salt: bytes, customer_id: str | None) -> str | None:
    """HMAC-SHA256 of a customer id under the salt, as 64 hex characters (None stays None).

    ValueError for an empty salt: a customer id is never stored unsalted."""
    if customer_id is None:
        return None
    if not salt:
        raise ValueError("no user-hash salt: use costing.identity.resolve_salt")
    return hmac.new(salt, customer_id.encode(), hashlib.sha256).hexdigest()
