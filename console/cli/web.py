"""``--web`` and ``--web-secure``: the annotations the ``wsk`` CLI sets, and web action URLs.

Pure functions, so that the merge rules (which are subtle on update) are tested without a server.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable
from urllib.parse import quote

from .common import CliError, KeyValues

WEB_EXPORT = "web-export"
RAW_HTTP = "raw-http"
FINAL = "final"
WEB_SECURE = "require-whisk-auth"
WEB_KEYS = (WEB_EXPORT, RAW_HTTP, FINAL)

#: --web value → the annotations wsk sets (its addWebAnnotations / addRawAnnotations /
#: deleteWebAnnotations): a web action is also final, so its parameters cannot be overridden.
WEB_MODES: dict[str, tuple[tuple[str, bool], ...]] = {
    "true": ((WEB_EXPORT, True), (RAW_HTTP, False), (FINAL, True)),
    "yes": ((WEB_EXPORT, True), (RAW_HTTP, False), (FINAL, True)),
    "raw": ((WEB_EXPORT, True), (RAW_HTTP, True), (FINAL, True)),
    "false": ((WEB_EXPORT, False), (RAW_HTTP, False), (FINAL, False)),
    "no": ((WEB_EXPORT, False), (RAW_HTTP, False), (FINAL, False)),
}

#: wsk truncates its random secret to 53 bits so that JavaScript (the API gateway) reads it exactly.
MAX_JS_INT_BITS = 53


def check_web_mode(mode: str) -> str:
    """The lower-cased ``--web`` value, or the error wsk gives for anything else."""
    value = mode.lower()
    if value not in WEB_MODES:
        raise CliError(
            f"Invalid argument '{mode}' for --web flag. "
            "Valid input consist of 'yes', 'true', 'raw', 'false', or 'no'."
        )
    return value


def random_secret() -> int:
    """``--web-secure true``: a random integer secret, as wsk generates."""
    return secrets.randbits(MAX_JS_INT_BITS)


def find(annotations: KeyValues | None, key: str) -> dict[str, Any] | None:
    """The entry for ``key`` (case-insensitive, like wsk's FindKeyValue), or ``None``."""
    for item in annotations or ():
        if isinstance(item, dict) and str(item.get("key", "")).lower() == key.lower():
            return item
    return None


def is_web(annotations: KeyValues | None) -> bool:
    """A web action has ``web-export`` set to the JSON boolean ``true``."""
    item = find(annotations, WEB_EXPORT)
    return item is not None and item.get("value") is True


def _without(annotations: KeyValues, keys: tuple[str, ...]) -> KeyValues:
    lowered = {k.lower() for k in keys}
    return [a for a in annotations if str(a.get("key", "")).lower() not in lowered]


def _append_missing(annotations: KeyValues, extra: KeyValues | None) -> KeyValues:
    """wsk's AppendKeyValueArr: add each of ``extra`` whose key is not there yet."""
    result = list(annotations)
    for item in extra or ():
        if find(result, str(item.get("key", ""))) is None:
            result.append(item)
    return result


def _only(annotations: KeyValues | None, keys: tuple[str, ...]) -> KeyValues:
    return [a for a in annotations or () if str(a.get("key", "")).lower() in keys]


def web_annotations(
    given: KeyValues | None,
    existing: KeyValues | None,
    web: str | None,
    web_secure: str | None,
    secret: Callable[[], int] = random_secret,
) -> KeyValues | None:
    """The annotations to send for a create/update with ``--web``/``--web-secure``.

    ``given`` are the ``-a`` annotations (``None`` when there are none) and ``existing`` those of
    the action being updated (``None`` on create or when it does not exist yet). As wsk does: with
    no ``-a`` the existing annotations are kept and only the web ones change; with ``-a`` (which
    replaces annotations on update) only the existing web and web-secure ones are carried over.
    Returns ``None`` when there is nothing to send, so the server keeps what it has.
    """
    annotations = given
    if web is not None:
        mode = check_web_mode(web)
        base = list(given) if given is not None else list(existing or [])
        annotations = _without(base, WEB_KEYS)
        annotations += [{"key": k, "value": v} for k, v in WEB_MODES[mode]]
        # An existing secret survives a --web change unless --web-secure says otherwise.
        annotations = _append_missing(annotations, _only(existing, (WEB_SECURE,)))
    if web_secure is None:
        return annotations
    disabling_web = web is not None and not WEB_MODES[check_web_mode(web)][0][1]
    if not (is_web(annotations) or (is_web(existing) and not disabling_web)):
        raise CliError("The --web-secure option is only valid when the --web option is enabled.")
    if existing is not None:
        if annotations is None:
            annotations = list(existing)
        else:
            annotations = _append_missing(annotations, _only(existing, WEB_KEYS))
            annotations = _append_missing(annotations, _only(existing, (WEB_SECURE,)))
    annotations = list(annotations or [])
    current = find(annotations, WEB_SECURE)
    value = web_secure.lower()
    if value == "false":
        return _without(annotations, (WEB_SECURE,))
    if value == "true":
        if current is not None and _is_int(current.get("value")):
            return annotations  # wsk keeps an existing numeric secret rather than rotate it
        new: Any = secret()
    else:
        new = web_secure
    return _without(annotations, (WEB_SECURE,)) + [{"key": WEB_SECURE, "value": new}]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def action_url(apihost: str, action: dict[str, Any]) -> str:
    """What ``wsk action get --url`` prints: the web URL of a web action
    (``.../api/v1/web/{ns}/{pkg or default}/{name}``), else its REST URL. The document's
    ``namespace`` is ``ns`` or, for a packaged action, ``ns/pkg``."""
    namespace, _, package = str(action.get("namespace", "_")).partition("/")
    name = str(action.get("name", ""))
    base = apihost.rstrip("/")

    def seg(text: str) -> str:
        return quote(text, safe="")

    if is_web(action.get("annotations")):
        return f"{base}/api/v1/web/{seg(namespace)}/{seg(package or 'default')}/{seg(name)}"
    path = f"{seg(package)}/{seg(name)}" if package else seg(name)
    return f"{base}/api/v1/namespaces/{seg(namespace)}/actions/{path}"
