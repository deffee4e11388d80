"""Per-user cooldowns with an injectable clock (one instance per bot, so tests start clean)."""

from __future__ import annotations

import time
from collections.abc import Callable


class UserCooldowns:
    """At most one command per user per ``period_s`` seconds."""

    def __init__(self, period_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._last: dict[int, float] = {}

    def hit(self, user_id: int) -> float:
        """Record a use; return 0 if allowed, else the seconds left to wait."""
        if self.period_s <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.period_s:
            return self.period_s - (now - last)
        self._last[user_id] = now
        return 0.0

    def reset(self) -> None:
        """Forget every user's last use."""
        self._last.clear()
