"""Blackbox actions: the exec the controller stores, the refusal of the process runtime, and, against
the real Docker engine, the skeleton's build → deploy → invoke loop and the isolation of blackbox
containers (from the host's other ports, from each other, from the outside), shown from inside one.

The isolation probes dial only what this test made: a listener on this host (through the
network's gateway address) and another blackbox container. "No route out" is read from the
container's routing table, never shown by dialing out.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from backend import blackbox
from backend.errors import ABNORMAL_INIT, malformed
from conftest import Server, action_path, assert_error, deploy, invoke, require_docker, running
from console import cli
from test_activation_failures import containers_of, wait_for


def put_blackbox(c: Any, name: str, image: str, **exec_: Any) -> dict[str, Any]:
    r = c.put(action_path(name), json={"exec": {"kind": "blackbox", "image": image, **exec_}})
    assert r.status_code == 200, r.text
    return r.json()


# --- the controller: what it accepts and stores (any runtime) ----------------------------------------


def test_exec_without_an_image_is_refused_in_openwhisks_words(client: Any) -> None:
    for exec_ in ({"kind": "blackbox"}, {"kind": "blackbox", "image": 7}):
        assert_error(client.put(action_path("bb"), json={"exec": exec_}), 400,
                     malformed("'image' must be a string defined in 'exec' for 'blackbox' actions"))


@pytest.mark.parametrize("image", ["", "Has Space", "UPPER", "a//b", "-lead", "x:", "x" * 256,
                                   "img@sha256:short"])
def test_a_malformed_image_name_is_refused(client: Any, image: str) -> None:
    assert_error(client.put(action_path("bb"), json={"exec": {"kind": "blackbox", "image": image}}), 400,
                 malformed(f"'{image[:300]}' is not a valid Docker image name"))


def test_the_exec_is_stored_and_shown_as_openwhisk_writes_it(client: Any) -> None:
    doc = put_blackbox(client, "plain", "registry.local:5000/team/img:1.2")
    assert doc["exec"] == {"kind": "blackbox", "image": "registry.local:5000/team/img:1.2", "binary": False}
    assert {"key": "exec", "value": "blackbox"} in doc["annotations"]
    assert client.get(action_path("plain")).json()["exec"] == doc["exec"]

    code = "def main(args):\n    return args\n"
    doc = put_blackbox(client, "coded", "img", code=code, main="main")
    assert doc["exec"] == {"kind": "blackbox", "image": "img", "binary": False, "code": code, "main": "main"}
    assert client.get(action_path("coded"), params={"code": "false"}).json()["exec"] == {
        "kind": "blackbox", "image": "img", "binary": False, "main": "main"}
    # blank code is no code, as in OpenWhisk
    assert put_blackbox(client, "blank", "img", code="  ")["exec"] == {"kind": "blackbox", "image": "img",
                                                                        "binary": False}


def test_the_process_runtime_answers_blackbox_with_a_clear_error(tmp_path: Path) -> None:
    with running(tmp_path / "home", "--runtime", "process", "--prewarm", "0") as srv:
        with srv.client() as c:
            put_blackbox(c, "bb", "any/image:latest")
            deploy(c, "hello")
            for _ in range(5):  # more than the 3 system errors that would make an invoker unhealthy
                record = invoke(c, "bb", blocking=True).json()
                assert record["response"]["status"] == "action developer error"
                assert record["response"]["result"] == {"error": blackbox.process_runtime_refusal().args[0]}
            assert invoke(c, "hello", blocking=True).json()["response"]["status"] == "success"
        assert srv.process is not None and srv.process.poll() is None, "the invoker did not crash"
        assert [inv["state"] for inv in srv.status()["invokers"]] == ["healthy"]


def test_cli_docker_sends_the_blackbox_exec(mock_api: Any, run_cli: Any, tmp_path: Path) -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={})

    mock_api(handler)
    assert run_cli("action", "create", "bb", "--docker", "team/img:1", "--main", "Main.run").rc == 0
    assert sent[-1]["exec"] == {"kind": "blackbox", "image": "team/img:1", "main": "Main.run"}
    code = tmp_path / "a.py"
    code.write_text("def main(args):\n    return args\n")
    assert run_cli("action", "update", "bb", str(code), "--docker", "team/img:2").rc == 0
    assert sent[-1]["exec"] == {"kind": "blackbox", "image": "team/img:2", "code": code.read_text(),
                                "binary": False}
    refused = run_cli("action", "create", "bb", "--docker", "team/img:1", "--kind", "python:3")
    assert refused.rc == 1 and "--docker IMAGE takes the place of --kind" in refused.err


def test_skeleton_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert blackbox.skeleton_main(str(tmp_path / "a"), False) == 0
    assert blackbox.skeleton_main(str(tmp_path / "a"), False) == 1
    assert blackbox.skeleton_main(str(tmp_path / "a"), True) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["Dockerfile", "README.md", "handler.py"]


# --- Docker: build → deploy → invoke --------------------------------------------------------------


def engine():  # type: ignore[no-untyped-def]
    import docker

    return docker.from_env()


@pytest.fixture(scope="session")
def skeleton_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`squall runtime skeleton DIR` then `docker build`, once per session, offline."""
    require_docker()
    directory = tmp_path_factory.mktemp("skeleton") / "hello-bb"
    assert cli.main(["runtime", "skeleton", str(directory)]) == 0
    image = f"squall-test/blackbox-skeleton:{uuid.uuid4().hex[:8]}"
    if shutil.which("docker"):  # what the README says to run
        done = subprocess.run(["docker", "build", "-t", image, str(directory)], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        engine().images.build(path=str(directory), tag=image, pull=False, rm=True)
    yield image
    engine().images.remove(image, force=True)


@pytest.fixture(scope="module")
def bserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_docker()
    with running(tmp_path_factory.mktemp("blackbox-home"), "--runtime", "docker", "--prewarm", "0") as srv:
        yield srv


def container_of(server: Server, path: str) -> Any:
    (mine,) = wait_for(lambda: containers_of(server, path))
    return engine().containers.get(mine["id"])


def test_skeleton_deploys_and_invokes_with_its_logs(bserver: Server, skeleton_image: str) -> None:
    ns, auth = bserver.new_namespace()
    with bserver.client(auth) as c:
        put_blackbox(c, "hello", skeleton_image)
        r = invoke(c, "hello", {"name": "World"}, blocking=True)
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["response"]["status"] == "success"
        assert record["response"]["result"] == {"greeting": "Hello World!"}
        assert len(record["logs"]) == 1 and record["logs"][0].endswith(" stdout: greeting World")
        notes = {a["key"]: a["value"] for a in record["annotations"]}
        assert notes["kind"] == "blackbox" and "initTime" in notes
        warm = invoke(c, "hello", {"name": "again"}, blocking=True).json()
        assert warm["response"]["result"] == {"greeting": "Hello again!"}
        assert "initTime" not in {a["key"] for a in warm["annotations"]}, "the second run is warm"
        assert warm["logs"][0].endswith(" stdout: greeting again")
    assert len(wait_for(lambda: containers_of(bserver, f"{ns}/hello"))) == 1


def test_blackbox_containers_get_the_same_hardening(bserver: Server, skeleton_image: str) -> None:
    ns, auth = bserver.new_namespace()
    with bserver.client(auth) as c:
        r = c.put(action_path("hard"), json={"exec": {"kind": "blackbox", "image": skeleton_image},
                                             "limits": {"memory": 192}})
        assert r.status_code == 200, r.text
        assert invoke(c, "hard", blocking=True).json()["response"]["status"] == "success"
    attrs = container_of(bserver, f"{ns}/hard").attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == blackbox.NETWORK
    assert list(attrs["NetworkSettings"]["Networks"]) == [blackbox.NETWORK]
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": "size=64m"}
    assert host["PidsLimit"] == 64
    assert host["Memory"] == host["MemorySwap"] == 192 * 1024 * 1024
    assert {"Name": "nofile", "Soft": 1024, "Hard": 1024} in host["Ulimits"]
    assert host["Sysctls"] == blackbox.SYSCTLS
    assert not host["Binds"], "no socket directory: the invoker connects over the network"
    assert attrs["Config"]["User"] == "1000:1000"
    assert attrs["Config"]["Labels"]["squall.image"] == skeleton_image


def test_cli_docker_create_and_invoke(bserver: Server, skeleton_image: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ns, auth = bserver.new_namespace()
    (tmp_path / "wskprops").write_text(f"APIHOST={bserver.apihost}\nAUTH={auth}\nNAMESPACE={ns}\n")
    monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
    capsys.readouterr()
    assert cli.main(["action", "create", "bb", "--docker", skeleton_image]) == 0
    assert capsys.readouterr().out.strip() == "ok: created action bb"
    assert cli.main(["action", "invoke", "bb", "-r", "-p", "name", "CLI"]) == 0
    assert json.loads(capsys.readouterr().out) == {"greeting": "Hello CLI!"}
    assert cli.main(["action", "get", "bb"]) == 0
    assert json.loads(capsys.readouterr().out)["exec"] == {"kind": "blackbox", "image": skeleton_image,
                                                          "binary": False}


def test_a_missing_image_is_the_developers_error(bserver: Server) -> None:
    _, auth = bserver.new_namespace()
    image = f"squall-test/no-such-image:{uuid.uuid4().hex[:8]}"
    with bserver.client(auth) as c:
        put_blackbox(c, "missing", image)
        record = invoke(c, "missing", blocking=True).json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {"error": f"Failed to pull container image '{image}'."}


def test_an_image_that_does_not_serve_port_8080_fails_fast(bserver: Server) -> None:
    """The Python runtime image serves a unix socket on a read-only /squall: its proxy exits."""
    _, auth = bserver.new_namespace()
    with bserver.client(auth) as c:
        put_blackbox(c, "mute", "squall/action-python3:latest")
        started = time.monotonic()
        record = invoke(c, "mute", blocking=True).json()
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["result"] == {"error": ABNORMAL_INIT}
    assert time.monotonic() - started < 15, "told when the container exited, not at the start timeout"


# --- Docker: isolation ----------------------------------------------------------------------------

PROBE = '''
import socket

def main(args):
    out = {}
    for host, port in args["targets"]:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2.0)
        try:
            s.connect((host, port))
            out[f"{host}:{port}"] = "connected"
        except OSError as ex:
            out[f"{host}:{port}"] = type(ex).__name__ + ": " + str(ex)
        finally:
            s.close()
    with open("/proc/net/route") as f:
        routes = [line.split()[:3] for line in f.read().splitlines()[1:] if line.strip()]
    try:
        with open("/proc/net/if_inet6") as f:
            inet6 = f.read().split()
    except FileNotFoundError:
        inet6 = []
    return {"attempts": out, "routes": routes, "inet6": inet6}
'''


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[Any]]]:
    """A TCP listener on every address of this host; records whoever connects."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            accepted.append(peer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


def network_gateway() -> str:
    return blackbox.gateway(engine().networks.get(blackbox.NETWORK).attrs)


def test_a_blackbox_container_reaches_neither_the_host_nor_another_container_nor_outside(
        bserver: Server, skeleton_image: str, host_listener: tuple[int, list[Any]]) -> None:
    port, accepted = host_listener
    ns, auth = bserver.new_namespace()
    with bserver.client(auth) as c:
        put_blackbox(c, "target", skeleton_image)
        put_blackbox(c, "probe", skeleton_image, code=PROBE)  # the image runs the code /init brings
        assert invoke(c, "target", blocking=True).json()["response"]["status"] == "success"
        target = container_of(bserver, f"{ns}/target").attrs["NetworkSettings"]["Networks"][blackbox.NETWORK]
        gw = network_gateway()
        with socket.create_connection(("127.0.0.1", port), timeout=2):  # the listener does listen
            pass
        wait_for(lambda: accepted)
        accepted.clear()
        targets = [[gw, port], [target["IPAddress"], blackbox.PORT]]
        r = invoke(c, "probe", {"targets": targets}, blocking=True)
        assert r.status_code == 200, r.text
        result = r.json()["response"]["result"]
        # each attempt was dropped on the way (a timeout, not even a refusal from the other side)
        assert result["attempts"] == {f"{h}:{p}": "TimeoutError: timed out" for h, p in targets}, result
        assert accepted == [], "the host's listener saw no connection from the container"
        # no default route (destination 00000000): only the isolated network's own subnet, and no IPv6
        assert [r for r in result["routes"] if r[1] == "00000000"] == [], result["routes"]
        assert len(result["routes"]) == 1 and result["routes"][0][0] == "eth0", result["routes"]
        assert result["inet6"] == [], "IPv6 is off inside the container"
        # while the invoker reaches both containers as ever
        assert invoke(c, "target", {"name": "still"}, blocking=True).json()["response"]["result"] == {
            "greeting": "Hello still!"}
        assert invoke(c, "probe", {"targets": []}, blocking=True).json()["response"]["status"] == "success"
    assert len(wait_for(lambda: containers_of(bserver, f"{ns}/probe"))) == 1, "the probe ran warm in one container"


def iptables_lines() -> list[str]:
    done = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_network_and_firewall_are_as_designed_and_installed_once(bserver: Server, skeleton_image: str) -> None:
    _, auth = bserver.new_namespace()
    with bserver.client(auth) as c:  # a blackbox cold start makes the network and the rules ready
        put_blackbox(c, "ready", skeleton_image)
        assert invoke(c, "ready", blocking=True).json()["response"]["status"] == "success"
    attrs = engine().networks.get(blackbox.NETWORK).attrs
    assert attrs["Internal"] is True
    assert attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert attrs["Options"]["com.docker.network.bridge.name"] == blackbox.BRIDGE
    blackbox.install_firewall()  # again: nothing changes
    assert blackbox.ensure_network(engine())["Id"] == attrs["Id"]
    lines = iptables_lines()
    for rule in blackbox.firewall_rules():
        assert lines.count(rule) == 1, (rule, lines)
    chain = [line for line in lines if line.startswith(f"-A {blackbox.CHAIN} ")]
    assert chain == blackbox.firewall_rules()[:2], "replies first, then drop everything else"
