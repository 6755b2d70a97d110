"""What the ``squall`` CLI tests (tests/test_cli_*.py) share: running ``main([...])`` in-process
and capturing what it prints, a fake API behind the CLI's client, and fixtures for the real server
of the ``server`` fixture (tests/conftest.py).

Test modules import the fixtures they use from here, which is how pytest finds them.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from console import cli
from console.cli import common
from console.client import ApiClient

HELLO = (
    "def main(args):\n"
    "    print('hi')\n"
    '    return {"greeting": "Hello " + args.get("name", "stranger")}\n'
)
ACTIVATION_ID = re.compile(r"[0-9a-f]{32}")
KEY = re.compile(r"^[0-9a-fA-F-]{36}:[^\s:]{64}$")


@dataclass
class Run:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def free_port() -> int:
    """A port nothing listens on (bound and released, so the kernel just handed it out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> ApiClient:
    return ApiClient("squall.test:3233", "user:secret", transport=httpx.MockTransport(handler), **kw)


@pytest.fixture
def mock_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    """Route the CLI's client to a handler, for answers hard to get from a real server."""
    monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
    (tmp_path / "wskprops").write_text("APIHOST=squall.test\nAUTH=u:k\nNAMESPACE=guest\n")

    def install(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        def factory(apihost: str, auth: str, namespace: str = "_") -> ApiClient:
            return ApiClient(apihost, auth, namespace, transport=httpx.MockTransport(handler))

        monkeypatch.setattr(common, "ApiClient", factory)

    return install


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``main([...])`` with its exit status and output, for tests against ``mock_api``."""
    capsys.readouterr()

    def run(*args: str) -> Run:
        rc = cli.main(list(args))
        captured = capsys.readouterr()
        return Run(rc, captured.out, captured.err)

    return run


@pytest.fixture
def squall(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run the CLI in-process against the test server, with its SQUALL_HOME."""
    monkeypatch.setenv("SQUALL_HOME", str(server.home))
    capsys.readouterr()

    def run(*args: str) -> Run:
        rc = cli.main(list(args))
        captured = capsys.readouterr()
        return Run(rc, captured.out, captured.err)

    return run


@dataclass
class Tenant:
    """A namespace of the test's own, set up as a user's wskprops (with NAMESPACE)."""

    namespace: str
    auth: str
    home: Path


@pytest.fixture
def tenant(
    squall: Callable[..., Run], server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Tenant:
    """``squall`` then runs as a fresh namespace, so tests see only their own entities."""
    namespace, auth = server.new_namespace()
    home = tmp_path / "tenant-home"
    home.mkdir()
    (home / "wskprops").write_text(
        f"APIHOST={server.apihost}\nAUTH={auth}\nNAMESPACE={namespace}\n"
    )
    monkeypatch.setenv("SQUALL_HOME", str(home))
    return Tenant(namespace, auth, home)


def unique(prefix: str) -> str:
    """A fresh entity name, so that tests sharing a server do not see each other's entities."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Retry ``check`` until it returns truthy: activation records may be stored asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


@pytest.fixture
def hello_file(tmp_path: Path) -> Path:
    path = tmp_path / "hello.py"
    path.write_text(HELLO)
    return path


def invoked_id(out: str, name: str) -> str:
    match = re.search(rf"ok: invoked /[^/\s]+/{re.escape(name)} with id ([0-9a-f]{{32}})", out)
    assert match, out
    return match.group(1)


def write_action(tmp_path: Path, name: str, body: str) -> Path:
    """A one-function Python action file: ``def main(args):`` then ``body``."""
    path = tmp_path / f"{name}.py"
    path.write_text("def main(args):\n" + "".join(f"    {line}\n" for line in body.splitlines()))
    return path
