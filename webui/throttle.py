"""In-memory brake on password guessing: 5 failures per username and IP, then 60 s."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000  # bound the memory an attacker can make us use


class LoginThrottle:
    """Counts failed sign-ins per (username, client IP) over a sliding window.

    Per process and in memory: it slows down guessing through this web admin, it is
    not an account lockout (a restart forgets it, and other IPs are not affected).
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, ip: str) -> tuple[str, str]:
        return username.strip().casefold(), ip

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until this username may be tried again from this IP (0 = now)."""
        now = self._clock()
        with self._lock:
            times = self._failures.get(self._key(username, ip))
            if times is None:
                return 0
            self._expire(times, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, username: str, ip: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._prune(now)
            times = self._failures.setdefault(self._key(username, ip), deque())
            self._expire(times, now)
            times.append(now)
            while len(times) > self.max_failures:
                times.popleft()

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username, ip), None)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            times = self._failures[key]
            self._expire(times, now)
            if not times:
                del self._failures[key]
        while len(self._failures) >= MAX_KEYS:  # all recent: forget the oldest keys
            del self._failures[next(iter(self._failures))]
