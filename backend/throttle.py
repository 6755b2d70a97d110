"""OpenWhisk's per-namespace throttles: invocations in the current minute and in flight, and
trigger fires in the current minute. Counted before the check, as OpenWhisk counts them."""

from __future__ import annotations

import time

from . import errors as X
from .errors import EntityError
from .store import Identity


class PerMinute:
    """What a namespace did in the current calendar minute (OpenWhisk's fixed window)."""

    def __init__(self) -> None:
        self._minute: dict[str, tuple[int, int]] = {}  # namespace -> (minute, count)

    def count(self, namespace: str) -> int:
        """Count one more; the count so far, this one included."""
        minute = int(time.time() // 60)
        bucket, count = self._minute.get(namespace, (minute, 0))
        count = count + 1 if bucket == minute else 1
        self._minute[namespace] = (minute, count)
        return count


class Throttle:
    """Invocations in the current minute, and in flight."""

    def __init__(self) -> None:
        self._minute = PerMinute()
        self.inflight: dict[str, int] = {}

    def check(self, who: Identity) -> None:
        count = self._minute.count(who.namespace)
        if count > who.invocations_per_minute:
            raise EntityError(429, X.too_many_requests(count, who.invocations_per_minute))
        running = self.inflight.get(who.namespace, 0)
        if running >= who.concurrent_invocations:
            raise EntityError(429, X.too_many_concurrent(running, who.concurrent_invocations))

    def started(self, namespace: str) -> None:
        self.inflight[namespace] = self.inflight.get(namespace, 0) + 1

    def finished(self, namespace: str) -> None:
        left = self.inflight.get(namespace, 0) - 1
        if left > 0:
            self.inflight[namespace] = left
        else:
            self.inflight.pop(namespace, None)


class FireThrottle:
    """`firesPerMinute`: fires of a namespace's triggers in the current minute."""

    def __init__(self) -> None:
        self._minute = PerMinute()

    def check(self, who: Identity) -> None:
        count = self._minute.count(who.namespace)
        if count > who.fires_per_minute:
            raise EntityError(429, X.too_many_requests(count, who.fires_per_minute))
