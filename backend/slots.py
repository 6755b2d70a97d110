"""The invoker's activation slots."""

from __future__ import annotations

import asyncio


class Slots:
    """How many activations may run at once: taken at once where one is free (a message handed
    over in the publisher's step cannot wait), or awaited (the consume loop, its only waiter)."""

    def __init__(self, count: int) -> None:
        self.free = count
        self._freed = asyncio.Event()

    def try_take(self) -> bool:
        if self.free == 0:
            return False
        self.free -= 1
        return True

    async def take(self) -> None:
        while self.free == 0:
            self._freed.clear()
            await self._freed.wait()
        self.free -= 1

    def release(self) -> None:
        self.free += 1
        self._freed.set()
