"""What every REST module shares: JSON responses, OpenWhisk's error body, query arguments, bodies."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from ..activations import new_activation_id
from ..controller import Call
from ..jsontext import dumps, loads
from ..errors import (
    EntityError, argument_not_integer, entity_too_big, list_limit_out_of_range, list_skip_out_of_range,
    malformed,
)

MAX_LIST = 200
DEFAULT_LIST = 30


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers, media_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   transid: str | None = None) -> Response:
    """OpenWhisk's error: `{"error": message, "code": <request id>}`, the same id in X-Request-ID."""
    transid = transid or new_activation_id()
    return json_response({"error": message, "code": transid}, status,
                         {"X-Request-ID": transid, **(headers or {})})


INT32 = 2 ** 31  # OpenWhisk reads skip, limit and timeout as a Scala Int
INT64 = 2 ** 63  # and epoch milliseconds as a Long (SQLite's integers are as wide)


def whole_number(raw: str, bound: int) -> int | None:
    """`raw` as an integer that fits in -bound..bound-1, else None."""
    try:
        value = int(raw.strip()) if raw.strip().lstrip("+-").isdigit() else None
    except ValueError:
        return None
    return value if value is not None and -bound <= value < bound else None


def int_arg(request: Call, name: str, default: int, collection: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = whole_number(raw, INT32)
    if value is None:
        raise EntityError(400, argument_not_integer(collection, raw))
    return value


def bool_arg(request: Call, name: str, default: str = "false") -> bool:
    return request.query_params.get(name, default).lower() == "true"


def paging(request: Call, collection: str) -> tuple[int, int]:
    """`limit` and `skip` of a list request, checked with OpenWhisk's texts; limit 0 means the max."""
    limit = int_arg(request, "limit", DEFAULT_LIST, collection)
    skip = int_arg(request, "skip", 0, collection)
    if not 0 <= limit <= MAX_LIST:
        raise EntityError(400, list_limit_out_of_range(collection, limit, MAX_LIST))
    if skip < 0:
        raise EntityError(400, list_skip_out_of_range(collection, skip))
    return limit or MAX_LIST, skip


async def read_body(request: Call, allowed: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > allowed:
        raise EntityError(413, entity_too_big("Request", int(declared), allowed))
    body = await request.body()
    if len(body) > allowed:
        raise EntityError(413, entity_too_big("Request", len(body), allowed))
    return body


def parse_json(body: bytes, default: Any) -> Any:
    if not body.strip():
        return default
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EntityError(400, malformed("the body is not valid JSON")) from None


async def json_body(request: Call, allowed: int, default: Any = None) -> Any:
    return parse_json(await read_body(request, allowed), {} if default is None else default)
