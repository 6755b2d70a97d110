"""Actions in hardened Docker containers, against the real engine (no mocks)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Iterator

import pytest

from conftest import Server, deploy, require_docker, running, start_server
from test_activation_failures import containers_of, wait_for


@pytest.fixture(scope="module")
def dserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_docker()
    with running(tmp_path_factory.mktemp("docker-home"), "--runtime", "docker", "--prewarm", "1") as srv:
        yield srv


def engine():  # type: ignore[no-untyped-def]
    import docker

    return docker.from_env()




def invoke(server: Server, auth: str, name: str, params: dict | None = None) -> dict:
    with server.client(auth) as c:
        return c.post(f"/api/v1/namespaces/_/actions/{name}?blocking=true", json=params or {}).json()


def test_status_says_docker(dserver: Server) -> None:
    assert dserver.status()["runtime"] == "docker"


def test_docker_inspect_shows_every_hardening_setting(dserver: Server) -> None:
    ns, auth = dserver.new_namespace()
    with dserver.client(auth) as c:
        deploy(c, "hello", limits={"memory": 192})
    assert invoke(dserver, auth, "hello")["response"]["status"] == "success"
    (mine,) = wait_for(lambda: containers_of(dserver, f"{ns}/hello"))
    attrs = engine().containers.get(mine["id"]).attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none" and attrs["Config"]["NetworkDisabled"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": "size=64m"}
    assert host["PidsLimit"] == 64
    assert host["Memory"] == 192 * 1024 * 1024
    assert host["MemorySwap"] == 192 * 1024 * 1024
    assert {"Name": "nofile", "Soft": 1024, "Hard": 1024} in host["Ulimits"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "1", "max-size": "10m"}}
    assert attrs["Config"]["User"] == "1000:1000"
    labels = attrs["Config"]["Labels"]
    assert labels["squall.invoker"] == "0"
    # a prewarmed container ran it, or a cold start named it; either way the invoker is named
    assert labels["squall.action"] in (f"{ns}/hello@0.0.1", "prewarm")
    binds = sorted(host["Binds"], key=lambda b: b.endswith(":/etc/hosts:ro"))
    assert len(binds) == 2 and binds[0].endswith(":/squall:rw"), "the proxy socket is the only way in"
    assert binds[1].endswith(":/etc/hosts:ro"), "and the hosts file the engine writes for `none`"


NETWORK_PROBE = """
import os, socket
def main(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # a route lookup only: connecting UDP sends nothing
        routable = True
    except OSError as ex:
        routable = ex.strerror
    localhost = socket.getaddrinfo("localhost", 80, socket.AF_INET)[0][4][0]
    return {"interfaces": sorted(os.listdir("/sys/class/net")), "routable": routable, "localhost": localhost}
"""


def test_no_network_unless_annotated(dserver: Server) -> None:
    _, auth = dserver.new_namespace()
    with dserver.client(auth) as c:
        deploy(c, "closed", NETWORK_PROBE)
        deploy(c, "open", NETWORK_PROBE, annotations=[{"key": "network", "value": True}])
    closed = invoke(dserver, auth, "closed")["response"]["result"]
    assert closed == {"interfaces": ["lo"], "routable": "Network is unreachable", "localhost": "127.0.0.1"}
    opened = invoke(dserver, auth, "open")["response"]["result"]
    assert "eth0" in opened["interfaces"] and opened["routable"] is True and opened["localhost"] == "127.0.0.1"


def test_cannot_write_outside_tmp(dserver: Server) -> None:
    _, auth = dserver.new_namespace()
    code = """
import errno
def main(args):
    out = {}
    for path in ("/tmp/ok", "/x", "/etc/passwd", "/usr/local/lib/squall/actionproxy.py", "/home/x"):
        try:
            with open(path, "a") as f:
                f.write("x")
            out[path] = "written"
        except OSError as ex:
            out[path] = errno.errorcode[ex.errno]
    return out
"""
    with dserver.client(auth) as c:
        deploy(c, "writer", code)
    result = invoke(dserver, auth, "writer")["response"]["result"]
    # new files anywhere but /tmp: read-only root; root's files: not even the user's to try
    assert result == {"/tmp/ok": "written", "/x": "EROFS", "/home/x": "EROFS",
                      "/etc/passwd": result["/etc/passwd"],
                      "/usr/local/lib/squall/actionproxy.py": result["/usr/local/lib/squall/actionproxy.py"]}
    assert result["/etc/passwd"] in ("EROFS", "EACCES")
    assert result["/usr/local/lib/squall/actionproxy.py"] in ("EROFS", "EACCES")


def test_a_fork_bomb_is_bounded(dserver: Server) -> None:
    _, auth = dserver.new_namespace()
    code = """
import os, signal, time
def main(args):
    pids, failure = [], None
    try:
        for _ in range(1000):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            pids.append(pid)
    except OSError as ex:
        failure = ex.strerror
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"forked": len(pids), "failure": failure}
"""
    with dserver.client(auth) as c:
        deploy(c, "bomb", code)
    result = invoke(dserver, auth, "bomb")["response"]["result"]
    assert result["forked"] < 64
    assert result["failure"] == "Resource temporarily unavailable"
    assert all(inv["state"] == "healthy" for inv in dserver.status()["invokers"])


def test_a_memory_hog_gets_the_exact_message_and_the_invoker_stays_healthy(dserver: Server) -> None:
    _, auth = dserver.new_namespace()
    with dserver.client(auth) as c:
        deploy(c, "hog", "def main(args):\n    blocks = [b'x' * (16 << 20) for _ in range(64)]\n"
                         "    return {'n': len(blocks)}\n", limits={"memory": 128})
        deploy(c, "hello")
    record = invoke(dserver, auth, "hog")
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {"error": "The action exhausted its memory and was aborted."}
    assert invoke(dserver, auth, "hello", {"name": "after"})["response"]["result"] == {"greeting": "Hello after"}
    assert all(inv["state"] == "healthy" for inv in dserver.status()["invokers"])


def test_invoker_removes_its_containers_at_stop_and_after_a_crash_at_start(tmp_path: Path) -> None:
    require_docker()
    srv = start_server(tmp_path / "home", "--runtime", "docker", "--prewarm", "1")
    try:
        with srv.client() as c:
            deploy(c, "hello")
            assert c.post("/api/v1/namespaces/_/actions/hello?blocking=true").status_code == 200
        names = wait_for(lambda: [c["id"] for inv in srv.status()["invokers"] for c in inv["containers"]]
                         if len(srv.status()["invokers"][0]["containers"]) >= 2 else None)
        assert names
        assert srv.stop(signal.SIGKILL) == -signal.SIGKILL
        existing = {c.name for c in engine().containers.list(all=True)}
        assert set(names) <= existing, "a crashed invoker leaves its containers behind"
        srv.start()
        existing = {c.name for c in engine().containers.list(all=True)}
        assert not set(names) & existing, "the restarted invoker removes what it left"
        current = [c["id"] for inv in srv.status()["invokers"] for c in inv["containers"]]
        assert srv.stop() == 0
        existing = {c.name for c in engine().containers.list(all=True)}
        assert not set(current) & existing, "a stopped invoker removes its containers"
    finally:
        if srv.process is not None:
            srv.stop()
