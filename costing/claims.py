"""Claims on scheduled posts: a row in ``scheduled_post`` (unique per channel, kind and key) is
taken before a post is sent, so a retry, a restart or a second process never posts it twice.

A claim whose post fails is released, so the post is tried again; a claim whose process dies
between claiming and posting is kept (the post is lost rather than doubled).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete

from storage.db import SessionFactory, session_scope
from storage.tables import ScheduledPost

ALERT_KIND = "alert"
MAX_KEY_CHARS = 32  # scheduled_post.period_key


def claim_post(
    session_factory: SessionFactory, *, channel_id: int, kind: str, key: str, now: datetime
) -> int | None:
    """Claim one post: the claim's id, or None when the post was claimed before (by anyone).

    `kind` is at most 16 characters, `key` at most 32 (ValueError otherwise)."""
    if len(key) > MAX_KEY_CHARS or len(kind) > 16:
        raise ValueError(f"claim kind/key too long: {kind!r} {key!r}")
    row = ScheduledPost(channel_id=channel_id, kind=kind, period_key=key, posted_at=now)
    try:
        with session_scope(session_factory) as session:
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        return None


def claim_alert(
    session_factory: SessionFactory, *, key: str, channel_id: int, now: datetime
) -> int | None:
    """Claim posting one alert to one channel; None when it was already claimed there.

    `key` names the alert, unique across every kind of alert and at most 32 characters:
    ``budget:<alert id>`` for budget thresholds (costing.budgets.alert_key); other alert kinds
    (a forecast, a spike) use their own prefix, e.g. ``spike:<model>:<hour>``. Call it once per
    (alert, channel) right before posting; on a failed post call `release_claim` so a retry
    posts it, and on success `set_message` with the message id. Claims are what makes N bot
    processes post each alert exactly once per channel.
    """
    return claim_post(session_factory, channel_id=channel_id, kind=ALERT_KIND, key=key, now=now)


def release_claim(session_factory: SessionFactory, claim: int) -> None:
    """Give a claim back (its post failed), so the post is tried again."""
    with session_scope(session_factory) as session:
        session.execute(delete(ScheduledPost).where(col(ScheduledPost.id) == claim))


def set_message(session_factory: SessionFactory, claim: int, message_id: int | None) -> None:
    """Record the id of the message a claim was posted as."""
    with session_scope(session_factory) as session:
        row = session.get(ScheduledPost, claim)
        if row is not None:
            row.message_id = message_id
            session.add(row)


def forget_alert_claims(session_factory: SessionFactory, keys: list[str]) -> None:
    """Drop the claims of alerts that are re-armed or deleted, on every channel."""
    if not keys:
        return
    with session_scope(session_factory) as session:
        query = delete(ScheduledPost).where(
            col(ScheduledPost.kind) == ALERT_KIND, col(ScheduledPost.period_key).in_(keys)
        )
        session.execute(query)
