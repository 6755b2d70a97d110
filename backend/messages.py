"""What travels on the bus: activation messages, completion acks and invoker pings (JSON bytes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .jsontext import dumps, loads


def _encode(obj: Any) -> bytes:
    # Fields hold plain JSON values already; vars() avoids asdict's deep copy on the hot path.
    return dumps(vars(obj))


@dataclass
class ActivationMessage:
    transid: str
    activation_id: str
    namespace: str  # the namespace of the record: the caller's
    name: str
    version: str
    subject: str  # the namespace of the caller
    blocking: bool
    controller: int
    accepted: int  # epoch ms when the controller accepted the request (for waitTime)
    content: dict[str, Any]
    action: dict[str, Any]  # the action document, so an invoker never reads the store
    api_key: str | None = None
    path: str = ""  # the action's own path, `ns[/pkg]/name`; `namespace` is where the record goes
    cause: str | None = None  # the sequence this activation is a component of
    extra: list[dict[str, Any]] | None = None  # further record annotations (binding, causedBy)

    def encode(self) -> bytes:
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> "ActivationMessage":
        return cls(**loads(data))


@dataclass
class CompletionMessage:
    activation_id: str
    invoker: int
    is_system_error: bool
    record: dict[str, Any]  # the whole activation record, stored by the controller
    kind: str = "completion"

    def encode(self) -> bytes:
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> "CompletionMessage":
        return cls(**loads(data))


@dataclass
class StartMessage:
    """An invoker is about to run the action's code: from now on, running it again elsewhere
    would run it twice. Sent (on a durable bus) on the completion topic before /init or /run."""

    activation_id: str
    invoker: int
    incarnation: str
    kind: str = "start"
    partition: int = -1  # where the activation message was in the invoker's topic
    offset: int = -1

    def encode(self) -> bytes:
        return _encode(self)


def decode_ack(data: bytes) -> "CompletionMessage | StartMessage":
    """What an invoker sends its controller: a start notice or a completion."""
    fields = loads(data)
    if fields.get("kind") == "start":
        return StartMessage(**fields)
    return CompletionMessage(**fields)


@dataclass
class PingMessage:
    invoker: int
    user_memory_mb: int
    sent: int
    status: dict[str, Any] = field(default_factory=dict)  # containers and memory, for the status API
    kind: str = "ping"
    incarnation: str = ""  # new at every start of the invoker process (and after it lost contact)
    running: list[str] = field(default_factory=list)  # started and still running, on a new incarnation

    def encode(self) -> bytes:
        return _encode(self)

    @classmethod
    def decode(cls, data: bytes) -> "PingMessage":
        return cls(**loads(data))
