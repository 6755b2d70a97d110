"""Fixtures that run the real `squall up` as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The CLI tests' fixtures (squall, tenant, mock_api, run_cli, hello_file) live in cli_support.
pytest_plugins = ["cli_support"]


def require_docker(kind: str = "python:3") -> None:
    """Docker tests run against the real engine; in CI a missing engine or image is a failure."""
    from backend.docker_runtime import DockerRuntime

    reason = DockerRuntime.unavailable_reason(kind)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the Docker runtime is needed in CI: {reason}")
    pytest.skip(f"no Docker runtime here: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_props(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@dataclass
class Server:
    """A running `squall up` and the credentials it wrote."""

    home: Path
    port: int
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.home / f"server-{self.port}.log"

    @property
    def apihost(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def guest_auth(self) -> str:
        return read_props(self.home / "wskprops")["AUTH"]

    @property
    def admin_auth(self) -> str:
        return read_props(self.home / "admin.wskprops")["AUTH"]

    def start(self, timeout: float = 30.0) -> "Server":
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SQUALL_HOME": str(self.home), "PYTHONPATH": str(ROOT)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend.server", "up", "--port", str(self.port), "--home", str(self.home),
             *self.args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"squall up exited with {self.process.returncode}:\n{self.log()}")
            try:
                httpx.get(self.apihost + "/api/v1", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"squall up did not answer in {timeout}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.process = None
            raise AssertionError(f"squall up did not stop in {timeout:.0f}s; its log:\n{self.log()[-6000:]}") from None
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, auth: str | None = None, **kwargs: Any) -> httpx.Client:
        user, _, key = (auth or self.guest_auth).partition(":")
        return httpx.Client(base_url=self.apihost, auth=(user, key), timeout=kwargs.pop("timeout", 70.0),
                            **kwargs)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_auth)

    def status(self) -> dict[str, Any]:
        with self.admin() as admin:
            return admin.get("/api/v1/system/status").json()

    def containers(self) -> list[dict[str, Any]]:
        """Every container the invokers report, each with its invoker's id."""
        return [{**c, "invoker": inv["id"]} for inv in self.status()["invokers"] for c in inv["containers"]]

    def new_namespace(self, limits: dict[str, int] | None = None) -> tuple[str, str]:
        """A fresh namespace (so tests do not share throttles or entities) and its key."""
        name = "ns_" + uuid.uuid4().hex[:10]
        with self.admin() as admin:
            r = admin.put(f"/api/v1/system/namespaces/{name}")
            assert r.status_code == 200, r.text
            auth = r.json()["auth"]
            if limits:
                r = admin.put(f"/api/v1/system/namespaces/{name}/limits", json=limits)
                assert r.status_code == 200, r.text
        return name, auth


def start_server(home: Path, *args: str, port: int | None = None) -> Server:
    return Server(home, port or free_port(), list(args)).start()


@contextmanager
def running(home: Path, *args: str) -> Iterator[Server]:
    """A backend for the block; unless the block stopped it, it must then stop cleanly (exit 0)."""
    srv = start_server(home, *args)
    try:
        yield srv
    finally:
        if srv.process is not None:
            assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One backend for the session; tests isolate themselves with `server.new_namespace()`."""
    with running(tmp_path_factory.mktemp("squall-home"), "--invokers", "2", "--idle-timeout", "120") as srv:
        yield srv


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A backend of the test's own, for tests that restart or kill it."""
    srv = start_server(tmp_path / "home")
    yield srv
    if srv.process is not None:
        srv.stop()


HELLO = '''
def main(args):
    print("hello stdout")
    return {"greeting": "Hello " + args.get("name", "stranger")}
'''


def deploy(client: httpx.Client, name: str, code: str = HELLO, **body: Any) -> httpx.Response:
    r = client.put(f"/api/v1/namespaces/_/actions/{name}",
                   json={"exec": {"kind": "python:3", "code": code}, **body})
    assert r.status_code == 200, r.text
    return r


# --- what tests of the REST API share ---------------------------------------------------------------


def assert_error(r: httpx.Response, status: int, message: str) -> dict[str, Any]:
    """An OpenWhisk error: the status, `{"error": message, "code": <request id>}`, the id in a header."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body == {"error": message, "code": r.headers["x-request-id"]}, body
    assert r.headers["x-request-id"]
    return body


def action_path(name: str, ns: str = "_") -> str:
    return f"/api/v1/namespaces/{ns}/actions/{quote(name, safe='')}"


def invoke(c: httpx.Client, name: str, params: dict[str, Any] | None = None, ns: str = "_",
           **query: Any) -> httpx.Response:
    q = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in query.items()}
    return c.post(action_path(name, ns), params=q, json=params or {})


def wait_ok(fetch: Callable[[], httpx.Response], timeout: float = 10.0) -> httpx.Response:
    """Poll until the request answers 200 (an activation record appears once it completes)."""
    deadline = time.monotonic() + timeout
    while True:
        r = fetch()
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def annotations(doc: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in doc["annotations"]}


@pytest.fixture
def ns(server) -> tuple[str, str]:
    return server.new_namespace()


@pytest.fixture
def client(server, ns):
    with server.client(ns[1]) as c:
        yield c


@pytest.fixture
def anonymous(server):
    with httpx.Client(base_url=server.apihost, timeout=30.0) as c:
        yield c
