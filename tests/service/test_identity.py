"""User ids are stored only as salted hashes; the salt is configured or made once per install."""

from __future__ import annotations

from pathlib import Path

from models.service.identity import SALT_FILE_NAME, hash_user, resolve_salt
from models.service.settings import ServiceConfig
from storage.settings import DatabaseSettings


def _settings(tmp_path: Path, salt: str | None = None) -> ServiceConfig:
    return ServiceConfig(
        database=DatabaseSettings(spool_path=tmp_path / "spool.jsonl"),
        user_hash_salt=salt,
    )


def test_configured_salt_is_used(tmp_path: Path) -> None:
    assert resolve_salt(_settings(tmp_path, "pepper")) == b"pepper"
    assert not (tmp_path / SALT_FILE_NAME).exists()


def test_install_salt_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = resolve_salt(_settings(tmp_path))
    assert len(first) == 64
    assert (tmp_path / SALT_FILE_NAME).stat().st_mode & 0o077 == 0
    assert resolve_salt(_settings(tmp_path)) == first


def test_hash_is_stable_salted_and_hides_the_id() -> None:
    digest = hash_user(b"salt-a", "123456789")
    assert digest == hash_user(b"salt-a", "123456789")
    assert digest != hash_user(b"salt-b", "123456789")
    assert digest is not None and len(digest) == 64 and "123456789" not in digest
    assert hash_user(b"salt-a", None) is None
