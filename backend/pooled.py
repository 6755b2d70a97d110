"""A container as the pool holds it: its state, the action it is warm for, and its use."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .runtimes import Container

PREWARM = "prewarm"
WARM = "warm"
BUSY = "busy"


@dataclass(eq=False)
class PooledContainer:
    container: Container
    kind: str
    memory_mb: int
    state: str
    action: str | None = None  # "namespace/name@version" once initialized
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    activation_id: str | None = None
    activations: int = 0
    image: str | None = None  # a blackbox action's image: such a container is never prewarm
    network: bool = False  # nor one with a network
    last_run_s: float | None = None  # how long its last /run sent early took to answer (BusyPoll)
    serving: str | None = None  # the action it was handed out for (the learned prewarm policy's count)
    expires: float | None = None  # idle, it goes at this time.monotonic() (the learned policy's windows)

    @property
    def id(self) -> str:
        return self.container.id

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "state": self.state, "kind": self.kind,
                "memory": self.memory_mb, "created": int(self.created * 1000),
                "age": round(time.time() - self.created, 3), "activationId": self.activation_id,
                "activations": self.activations}


@dataclass(eq=False)
class Waiter:
    key: str
    kind: str
    memory_mb: int
    network: bool
    image: str | None
    future: asyncio.Future[tuple[PooledContainer, bool]]
