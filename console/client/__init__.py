"""Client for Squall's OpenWhisk-compatible REST API.

Shared by the ``squall`` CLI and the Textual console. The endpoints are described once, as
transport-free :class:`Call` objects built by one mixin per resource (``actions``, ``activations``,
``packages``, ``triggers``, ``rules``, ``apis``, ``general``); :class:`ApiClient` (sync,
``httpx.Client``) and :class:`AsyncApiClient` (``httpx.AsyncClient``) only differ in how they send
a call, so a new endpoint is written in one place and both clients get it.
"""

from __future__ import annotations

from .actions import BLOCKING_SLACK_S, DEFAULT_BLOCKING_WAIT_MS
from .apis import DUMMY_ACCESS_TOKEN
from .calls import Call, Invocation, JsonDict
from .errors import ApiError, SquallUnreachable
from .transport import DEFAULT_TIMEOUT, ApiClient, AsyncApiClient
from .wskprops import (
    Wskprops,
    admin_props_path,
    load_wskprops,
    normalize_apihost,
    squall_home,
    user_props_path,
)

__all__ = [
    "ApiClient",
    "ApiError",
    "AsyncApiClient",
    "BLOCKING_SLACK_S",
    "Call",
    "DEFAULT_BLOCKING_WAIT_MS",
    "DEFAULT_TIMEOUT",
    "DUMMY_ACCESS_TOKEN",
    "Invocation",
    "JsonDict",
    "SquallUnreachable",
    "Wskprops",
    "admin_props_path",
    "load_wskprops",
    "normalize_apihost",
    "squall_home",
    "user_props_path",
]
