"""A web action's result as an HTTP response, per extension, as OpenWhisk's WebActions transcode it."""

from __future__ import annotations

import base64
import binascii
import http
import re
from typing import Any

from fastapi.responses import Response

from ..errors import EntityError
from ..jsontext import dumps, dumps_text

PROPERTY_NOT_FOUND = "Response does not include requested property."
UNKNOWN_CONTENT_TYPE = "Response did not specify a known content-type."
CONTENT_TYPE_MISMATCH = "Response type in header did not match generated content type."

MEDIA = {"json": "application/json", "html": "text/html", "svg": "image/svg+xml", "text": "text/plain",
         "http": "message/http"}
EXTENSIONS = ("http", "json", "html", "svg", "text")
BAD_EXTENSION = "Extension must be specified and one of [.json, .html, .http, .svg, .text]."

_MEDIA_TYPE = re.compile(r"\s*([\w!#$&^.+-]+)/([\w!#$&^.+-]+)\s*(;.*)?", re.ASCII)
_BASE64 = re.compile(r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)", re.ASCII)
_TEXT_APPLICATIONS = {"json", "javascript", "xml", "x-www-form-urlencoded", "ecmascript", "x-javascript"}


def invalid_media(extension: str) -> str:
    return f"Response is not valid '{MEDIA[extension]}'."


def media_type(value: str) -> tuple[str, str, str] | None:
    """(type, subtype, parameters) of a Content-Type value, lower-cased; None if it is none."""
    match = _MEDIA_TYPE.fullmatch(value)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2).lower(), (match.group(3) or "").lower()


def is_json_type(kind: tuple[str, str, str]) -> bool:
    return kind[0] == "application" and (kind[1] == "json" or kind[1].endswith("+json"))


def is_binary(content_type: str | None) -> bool:
    """Whether a body of this type is bytes rather than text (then it travels base64 in JSON)."""
    kind = media_type(content_type or "application/octet-stream")
    if kind is None:
        return True
    main, sub, params = kind
    if main == "text" or "charset=" in params:
        return False
    if main == "application" and (sub in _TEXT_APPLICATIONS or sub.endswith("+json") or sub.endswith("+xml")):
        return False
    return True


def transcode(extension: str, result: Any) -> Response:
    """As current OpenWhisk: `.json` answers the whole result; `.html`, `.svg` and `.text` its
    `body`, else the field named after the extension (the URL's rest is `__ow_path`, no projection)."""
    if extension == "http":
        return http_response(result)
    if extension != "json" and isinstance(result, dict):
        if "body" in result:
            result = result["body"]
        elif extension in result:
            result = result[extension]
        elif extension == "text":
            raise EntityError(404, PROPERTY_NOT_FOUND)
        else:
            result = None
    if extension == "json":
        if not isinstance(result, (dict, list)):
            raise EntityError(400, invalid_media("json"))
        return Response(dumps(result), 200, media_type="application/json")
    if extension == "text":
        text = result if isinstance(result, str) else dumps_text(result)
        return Response(text, 200, media_type="text/plain; charset=UTF-8")
    if not isinstance(result, str):
        raise EntityError(400, invalid_media(extension))
    if extension == "html":
        return Response(result, 200, media_type="text/html; charset=UTF-8")
    return Response(result.encode(), 200, media_type="image/svg+xml")


def _status(value: Any) -> int:
    if value is None:
        raise EntityError(400, invalid_media("http"))
    if isinstance(value, bool):
        raise EntityError(400, invalid_media("http"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+", value, re.ASCII):
        value = int(value)
    if not isinstance(value, int):
        raise EntityError(400, invalid_media("http"))
    try:
        return http.HTTPStatus(value).value
    except ValueError:
        raise EntityError(400, invalid_media("http")) from None


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise EntityError(400, invalid_media("http"))


def _header_values(value: Any) -> list[str]:
    """A header's values: an array is one header line per element (several Set-Cookie)."""
    return [_header_value(v) for v in value] if isinstance(value, list) else [_header_value(value)]


def http_response(result: Any) -> Response:
    """`{statusCode, headers, body}`: the body is text, JSON, or base64 of a binary type's bytes."""
    if not isinstance(result, dict):
        raise EntityError(400, invalid_media("http"))
    headers = result.get("headers", {})
    if not isinstance(headers, dict):
        raise EntityError(400, invalid_media("http"))
    pairs = [(str(k), v) for k, value in headers.items() for v in _header_values(value)]
    content_type = next((v for k, v in pairs if k.lower() == "content-type"), None)
    pairs = [(k, v) for k, v in pairs if k.lower() != "content-type"]
    body = result.get("body")
    if "statusCode" in result:
        status = _status(result["statusCode"])
    else:
        status = 204 if body is None or body == "" else 200
    if body is None or body == "":
        response = Response(b"", status)
    elif isinstance(body, str):
        response = _string_body(body, content_type or "text/html", status)
    else:
        kind = media_type(content_type or "application/json")
        if kind is None or not is_json_type(kind):
            raise EntityError(400, CONTENT_TYPE_MISMATCH)
        response = Response(dumps(body), status, media_type=content_type or "application/json")
    for name, value in pairs:
        response.headers.append(name, value)
    return response


def _string_body(body: str, content_type: str, status: int) -> Response:
    kind = media_type(content_type)
    if kind is None:
        raise EntityError(400, UNKNOWN_CONTENT_TYPE)
    if is_binary(content_type):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise EntityError(400, CONTENT_TYPE_MISMATCH) from None
        return Response(data, status, media_type=content_type)
    stripped = body.strip()
    if is_json_type(kind) and len(stripped) % 4 == 0 and _BASE64.fullmatch(stripped):
        return Response(base64.b64decode(stripped), status, media_type=content_type)
    main, sub, _ = kind
    return Response(body.encode(), status, media_type=f"{main}/{sub}; charset=UTF-8")
