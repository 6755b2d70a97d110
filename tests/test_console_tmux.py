"""The console in a real terminal: tmux runs `squall console`, `send-keys` types, `capture-pane` reads."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, Server, start_server

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server on a private socket, with one 150x40 session running a plain bash."""

    def __init__(self, env: dict[str, str]) -> None:
        self.name = f"squall-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.socket: Path | None = None

    def run(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.name, *args], env=self.env, capture_output=True, text=True,
                                timeout=10)
        assert result.returncode == 0, f"tmux {args}: {result.stderr}"
        return result.stdout

    def start(self) -> None:
        self.run("new-session", "-d", "-s", self.name, "-x", "150", "-y", "40", "bash --norc --noprofile")
        self.socket = Path(self.run("display-message", "-p", "#{socket_path}").strip())

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear in {timeout} s; the screen:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], env=self.env, capture_output=True, timeout=10)
        if self.socket is not None:
            self.socket.unlink(missing_ok=True)  # tmux leaves its socket file behind


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "backend", "--runtime", "process", "--prewarm", "0")
    yield srv
    if srv.process is not None:
        srv.stop()


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    home = tmp_path / "console-home"  # no keymap or theme of the developer's
    home.mkdir()
    env = {**os.environ, "SQUALL_HOME": str(home), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
           "PS1": "$ "}
    env.pop("TMUX", None)
    session = Tmux(env)
    session.start()
    yield session
    session.kill()


def squall_command() -> list[str]:
    """The installed `squall` script, else the same entry point through this interpreter."""
    script = shutil.which("squall")
    return [script] if script else [sys.executable, "-m", "console.cli"]


def test_console_in_tmux(backend: Server, tmux: Tmux) -> None:
    command = [*squall_command(), "console", "--apihost", backend.apihost, "--auth", backend.admin_auth]
    tmux.send(f"cd {shlex.quote(str(ROOT))} && {shlex.join(command)}; echo EXITED $?", "Enter")

    screen = tmux.wait_for("connected", timeout=20)
    assert backend.apihost in screen
    assert "Invokers" in screen and "Queue depth" in screen  # the overview

    tmux.send("3")
    screen = tmux.wait_for("duration")
    for column in ("time", "action", "status", "wait", "init"):
        assert column in screen

    tmux.send(":")
    tmux.wait_for(":invokers")  # the prompt is open (its placeholder lists the views), as a user would see
    tmux.send("-l", "invokers")
    tmux.send("Enter")
    screen = tmux.wait_for("in flight")
    assert "healthy" in screen and "process" in screen  # the invoker's row: state and runtime

    tmux.send("q")
    screen = tmux.wait_for("EXITED 0")
    assert "Traceback" not in screen
