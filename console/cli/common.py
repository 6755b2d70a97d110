"""What every ``squall`` command module shares: the per-run :class:`Context`, the user-facing
:class:`CliError`, parameter and file helpers, output formatting and parser building blocks.

Nothing here imports a command module, so the command modules can all import it without cycles.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from console.client import (
    ApiClient,
    Wskprops,
    admin_props_path,
    load_wskprops,
    user_props_path,
)

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subcommands = argparse._SubParsersAction

#: Where to look when neither --apihost nor a wskprops names a host (OpenWhisk standalone's port).
FALLBACK_APIHOST = "http://localhost:3233"

#: File extension → (kind, binary) when --kind is not given.
#: What `wsk` infers from a file name: (kind, sent as binary). A `.zip` is looked into (zip_kind).
KINDS_BY_EXTENSION = {".py": ("python:default", False), ".js": ("nodejs:default", False),
                      ".jar": ("java:default", True), ".zip": (None, True)}
#: A zip's entry file -> its family's default kind.
KINDS_BY_ZIP_ENTRY = {"__main__.py": "python:default", "package.json": "nodejs:default",
                      "index.js": "nodejs:default"}

#: OpenWhisk's ``[{"key": k, "value": v}]`` lists (parameters, annotations).
KeyValues = list[dict[str, Any]]


class CliError(Exception):
    """A user-facing error that is not an API error (bad file, missing credentials, ...)."""


class UsageError(CliError):
    """Arguments that do not make a command (exit status 2, like argparse's own usage errors)."""


# --------------------------------------------------------------------------------------------
# helpers usable without a server (and unit-tested as such)


def parse_param_value(value: str) -> Any:
    """``-p K V``: V is JSON if it parses (``42``, ``true``, ``{"a":1}``), else the plain string,
    which is what wsk does and what lets ``-p name World`` work without quoting."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_param_file(path: str) -> dict[str, Any]:
    """Read a ``--param-file``: it must hold one JSON object."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read parameter file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CliError(f"parameter file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"parameter file {path} must contain a JSON object")
    return data


def build_params(
    pairs: Sequence[Sequence[str]] | None, param_file: str | None = None
) -> dict[str, Any]:
    """Merge ``--param-file`` with ``-p`` pairs; the pairs win, so a file can hold defaults."""
    params: dict[str, Any] = load_param_file(param_file) if param_file else {}
    for key, value in pairs or ():
        params[key] = parse_param_value(value)
    return params


def key_values(mapping: dict[str, Any]) -> KeyValues:
    """OpenWhisk stores parameters and annotations as ``[{"key": k, "value": v}]``."""
    return [{"key": k, "value": v} for k, v in mapping.items()]


def entity_body(args: argparse.Namespace) -> dict[str, Any]:
    """``parameters`` and ``annotations`` from ``-p``/``--param-file``/``-a``, only those given,
    so that an update keeps what it does not mention."""
    body: dict[str, Any] = {}
    params = build_params(args.param, args.param_file)
    if params or args.param_file:
        body["parameters"] = key_values(params)
    if args.annotation:
        body["annotations"] = key_values({k: parse_param_value(v) for k, v in args.annotation})
    return body


def read_exec(path: str, kind: str | None = None, main: str | None = None) -> dict[str, Any]:
    """Build the ``exec`` of an action from a source file or a zip (sent base64 with binary)."""
    file = Path(path)
    inferred = KINDS_BY_EXTENSION.get(file.suffix.lower())
    binary = inferred is not None and inferred[1]
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if kind is None:
        kind = inferred[0] if inferred is not None else None
        if file.suffix.lower() == ".zip":
            kind = zip_kind(data)
            if kind is None:
                raise CliError(f"cannot tell the kind of {path} (no __main__.py, package.json or index.js "
                               "at its top); pass --kind")
        if kind is None:
            raise CliError(f"cannot infer the kind of {path} from its extension; pass --kind")
    if kind.startswith("java:") and not main:
        raise CliError("Java actions require --main to specify the fully-qualified name of the main class")
    if binary:
        code = base64.b64encode(data).decode("ascii")
    else:
        try:
            code = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{path} is not UTF-8 text; zip it to send it as binary") from None
    exec_: dict[str, Any] = {"kind": kind, "code": code, "binary": binary}
    if main:
        exec_["main"] = main
    return exec_


def zip_kind(data: bytes) -> str | None:
    """The kind a zip's top-level entry file names, if any."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return None
    return next((k for entry, k in KINDS_BY_ZIP_ENTRY.items() if entry in names), None)


def annotation(doc: dict[str, Any], key: str) -> Any:
    """The value of an annotation of an action or activation document, or ``None``."""
    for item in doc.get("annotations") or ():
        if isinstance(item, dict) and item.get("key") == key:
            return item.get("value")
    return None


def format_time(epoch_ms: Any) -> str:
    """Local wall-clock time, as wsk shows it."""
    if not isinstance(epoch_ms, (int, float)) or epoch_ms <= 0:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_table(rows: list[list[str]], header: list[str] | None = None) -> list[str]:
    """Left-aligned columns separated by two spaces (the last one unpadded)."""
    all_rows = ([header] if header else []) + rows
    if not all_rows:
        return []
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(all_rows[0]))]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths)] + [row[-1]]
        lines.append("  ".join(cells))
    return lines


def dumps(obj: Any) -> str:
    """Pretty JSON, the way every command prints documents."""
    return json.dumps(obj, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# settings and client


@dataclass
class Context:
    """Per-run state: the parsed arguments, where to print, and a lazily made client (so that
    purely local errors, like a missing file, never need a server or credentials)."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    _client: ApiClient | None = field(default=None, init=False)
    namespace: str = field(default="_", init=False)
    apihost: str = field(default=FALLBACK_APIHOST, init=False)
    #: The key in use (``uuid:key``) and the props file it came from, once the client is made.
    auth: str = field(default="", init=False)
    props: Wskprops = field(default_factory=Wskprops, init=False)

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> ApiClient:
        args = self.args
        use_admin = bool(getattr(args, "admin", False) or getattr(args, "admin_command", False))
        props_path = admin_props_path() if use_admin else user_props_path()
        props = _read_props(props_path)
        user_props = props if not use_admin else _read_props(user_props_path())
        explicit_auth: str | None = getattr(args, "auth", None)
        self.apihost = (
            getattr(args, "apihost", None) or props.apihost or user_props.apihost or FALLBACK_APIHOST
        )
        auth = explicit_auth or props.auth
        if not auth:
            where = "has no AUTH" if props_path.exists() else "does not exist"
            raise CliError(
                f"no credentials: {props_path} {where}; pass --auth UUID:KEY "
                "or run `squall up` to create it"
            )
        # The props' namespace belongs to the props' key; another key gets its own namespace.
        self.namespace = (props.namespace if not explicit_auth else None) or "_"
        self.auth = auth
        self.props = props
        try:
            return ApiClient(self.apihost, auth, self.namespace)
        except ValueError as exc:
            raise CliError(str(exc)) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(text, file=self.err)

    def qualified(self, name: str, namespace: str | None = None) -> str:
        """``/ns/name`` as wsk prints it; ``_`` stays ``_`` when the real namespace is unknown."""
        if name.startswith("/"):
            return name
        ns = self.namespace
        if ns == "_" and namespace:
            ns = namespace
        return f"/{ns}/{name}"


def _read_props(path: Path) -> Wskprops:
    try:
        return load_wskprops(path)
    except FileNotFoundError:
        return Wskprops()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# parser building blocks, used by every command module's register()

Handler = Callable[[Context], int]


def global_options() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand. SUPPRESS keeps a subcommand's
    unset option from overwriting one given before it."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument(
        "--apihost", metavar="URL", default=argparse.SUPPRESS,
        help="API host (default: APIHOST of $SQUALL_HOME/wskprops)",
    )
    group.add_argument(
        "--auth", metavar="KEY", default=argparse.SUPPRESS,
        help="UUID:KEY credentials (default: AUTH of $SQUALL_HOME/wskprops)",
    )
    group.add_argument(
        "--admin", action="store_true", default=argparse.SUPPRESS,
        help="use $SQUALL_HOME/admin.wskprops",
    )
    return common


def command_group(commands: Subcommands, name: str, help: str) -> Subcommands:
    """``squall NAME ...``: a group whose bare use prints its own usage."""
    sub = commands.add_parser(name, help=help, description=help)
    sub.set_defaults(usage_of=sub)
    return sub.add_subparsers(title="commands", metavar="COMMAND")


def leaf(
    group: Subcommands,
    name: str,
    handler: Handler,
    help: str,
    common: argparse.ArgumentParser,
    admin: bool = False,
) -> argparse.ArgumentParser:
    """``squall GROUP NAME``, run by ``handler``; ``admin`` commands use admin.wskprops."""
    sub = group.add_parser(name, help=help, description=help, parents=[common])
    sub.set_defaults(handler=handler, admin_command=admin)
    return sub


def add_param_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
        help=f"{what} (VALUE is JSON if it parses, else a string); repeatable",
    )
    parser.add_argument("--param-file", metavar="FILE", help=f"JSON object of {what}s")


def add_annotation_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", "--annotation", nargs=2, action="append", metavar=("KEY", "VALUE"),
        help="annotation (VALUE is JSON if it parses); repeatable",
    )


def add_page_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--limit", type=int, metavar="N", help=f"at most N {what}")
    parser.add_argument("--skip", type=int, default=0, metavar="N", help="skip the first N")
