"""Database URLs as they may be shown: the password and secret query parameters masked."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

MASK = "***"
_SECRET_PARAM = re.compile(r"pass|secret|token|key", re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL with its password (``user:***@host``) and any ``password=``-like query
    parameter replaced by ``***``; works on malformed URLs too (only secrets change)."""
    base, sep, query = url.partition("?")
    base = _mask_credentials(base)
    if not sep:
        return base
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(key, MASK if _SECRET_PARAM.search(key) else value) for key, value in pairs]
    return f"{base}?{urlencode(shown, safe='*/:')}"


def _mask_credentials(base: str) -> str:
    scheme, sep, rest = base.rpartition("://") if "://" in base else ("", "", base)
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return base
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:{MASK}@{host}"


def url_host(url: str) -> str:
    """Where the URL points, for one-line errors: ``db.example:5432/costbot`` for a server,
    the file path for SQLite; never the credentials."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return mask_url(url)
    if scheme.startswith("sqlite"):
        return rest.removeprefix("/") or "(in memory)"
    return rest.rpartition("@")[2].partition("?")[0]
