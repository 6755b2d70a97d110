"""Every kind on Docker: cold start, prewarm hit, warm invocations beside a direct /run, image size
and (with --build) build time; and the proxy's own cost beside the Python-only proxy it replaced.

Cold start: the first invocation of a new action with no prewarmed container of its kind. Prewarm
hit: the first invocation of a new action when a prewarmed container of its kind waits. Warm: the
same action again and again, interleaved with direct /run calls to the very same container over
its socket. The proxy comparison runs the current proxy and the one of commit 0fe0928 (Python
only, before launchers) as local processes, /run of a no-op Python action, interleaved.
Run: python bench/bench_runtimes.py [--build] (needs the engine and the images).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import ROOT, UnixHTTPConnection, machine, percentiles, timed_posts  # noqa: E402
from bench_docker import Backend  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from backend import images, kinds  # noqa: E402
from backend.runtimes import run_dir  # noqa: E402
from kits import zipped  # noqa: E402

KINDS = ["python:3", "nodejs:18", "java:17"]
BEFORE_LAUNCHERS = "0fe0928"  # the last commit whose proxy ran Python only


def noop_exec(kind: str) -> dict:
    family = kind.partition(":")[0]
    if family == "python":
        return {"kind": kind, "code": "def main(args):\n    return {}\n"}
    if family == "nodejs":
        return {"kind": kind, "code": "function main(args) { return {}; }\n"}
    from backend.languages.java import host_cache
    from backend.launchers.java.build import ensure_launcher

    gson = ensure_launcher(host_cache()).split(":")[1]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Noop.java").write_text("import com.google.gson.JsonObject;\npublic class Noop {\n"
                                             "  public static JsonObject main(JsonObject a) { return new JsonObject(); }\n}\n")
        out = Path(tmp) / "out"
        subprocess.run(["javac", "--release", "17", "-cp", gson, "-d", str(out), str(Path(tmp) / "Noop.java")],
                       check=True)
        return {"kind": kind, "code": base64.b64encode(zipped(out)).decode(), "binary": True, "main": "Noop"}


def deploy(backend: Backend, name: str, exec_: dict) -> None:
    backend.call("PUT", f"/api/v1/namespaces/_/actions/{name}?overwrite=true", {"exec": exec_})


def wait_for_prewarm(backend: Backend, kind: str, used: set[str], timeout: float = 60.0) -> str:
    """Until every kind has a prewarmed container no earlier sample took (the refill of the last
    sample's must not start a container while this one is timed); returns this kind's."""
    deadline = time.monotonic() + timeout
    while True:
        fresh: dict[str, str] = {}
        for c in backend.containers():
            if c["state"] == "prewarm" and c["id"] not in used:
                fresh.setdefault(c["kind"], c["id"])
        if all(k in fresh for k in KINDS):
            time.sleep(0.2)  # the status API shows a container as prewarm a moment before it is taken
            return fresh[kind]
        if time.monotonic() > deadline:
            raise SystemExit(f"no prewarmed {kind} container appeared")
        time.sleep(0.05)


def proxy_rounds(n: int) -> tuple[list[float], list[float]]:
    """/run of a no-op Python action: the current proxy and the one before launchers."""
    work = Path(tempfile.mkdtemp(prefix="squall-bench-proxy-"))
    old = work / "old_proxy.py"
    old.write_text(subprocess.run(["git", "show", f"{BEFORE_LAUNCHERS}:backend/actionproxy.py"], cwd=ROOT,
                                  check=True, capture_output=True, text=True).stdout)
    procs, conns = [], []
    for name, source in (("new", ROOT / "backend" / "actionproxy.py"), ("old", old)):
        sock = work / f"{name}.sock"
        procs.append(subprocess.Popen([sys.executable, "-u", "-s", str(source), "--socket", str(sock)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        while not sock.exists():
            time.sleep(0.01)
        conn = UnixHTTPConnection(str(sock))
        headers = {"Content-Type": "application/json"}
        timed_posts(conn, "/init", json.dumps({"value": {"code": "def main(a):\n    return {}\n"}}).encode(),
                    headers, 1)
        conns.append(conn)
    body = json.dumps({"value": {}, "activation_id": "0" * 32, "namespace": "guest",
                       "action_name": "/guest/noop", "deadline": "0"}).encode()
    headers = {"Content-Type": "application/json"}
    new_ms: list[float] = []
    old_ms: list[float] = []
    for conn in conns:
        timed_posts(conn, "/run", body, headers, 200)
    for _ in range(10):
        new_ms += timed_posts(conns[0], "/run", body, headers, n // 10)
        old_ms += timed_posts(conns[1], "/run", body, headers, n // 10)
    for p in procs:
        p.terminate()
    return new_ms, old_ms


def build_seconds(kind: str) -> float:
    started = time.monotonic()
    images.build([kind], force=True, say=lambda _: None)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=8, help="cold starts and prewarm hits per kind")
    parser.add_argument("-n", type=int, default=1000, help="warm invocations (and direct calls) per kind")
    parser.add_argument("--build", action="store_true", help="also time a forced build of each image")
    args = parser.parse_args()
    execs = {kind: noop_exec(kind) for kind in KINDS}
    built = {kind: build_seconds(kind) for kind in KINDS} if args.build else {}

    cold_ms: dict[str, list[float]] = {k: [] for k in KINDS}
    cold = Backend(3910, "--prewarm", "0", "--user-memory", str(256 * (len(KINDS) * args.starts + 4)))
    try:
        for i in range(args.starts):
            for kind in KINDS:
                name = f"cold-{kind.partition(':')[0]}-{i}"
                deploy(cold, name, execs[kind])
                cold_ms[kind].append(cold.invoke_ms(name))
    finally:
        cold.stop()

    prewarm = ",".join(f"{k}=1" for k in KINDS)
    warm = Backend(3911, "--prewarm", prewarm, "--user-memory", str(256 * (len(KINDS) * (args.starts + 2) + 4)))
    prewarm_ms: dict[str, list[float]] = {k: [] for k in KINDS}
    api_ms: dict[str, list[float]] = {k: [] for k in KINDS}
    direct_ms: dict[str, list[float]] = {k: [] for k in KINDS}
    try:
        used: set[str] = set()
        for i in range(args.starts):
            for kind in KINDS:
                used.add(wait_for_prewarm(warm, kind, used))
                name = f"pre-{kind.partition(':')[0]}-{i}"
                deploy(warm, name, execs[kind])
                prewarm_ms[kind].append(warm.invoke_ms(name))
        headers = {"Content-Type": "application/json"}
        targets = {}
        for kind in KINDS:
            name = f"warm-{kind.partition(':')[0]}"
            deploy(warm, name, execs[kind])
            path = f"/api/v1/namespaces/_/actions/{name}?blocking=true&result=true"
            timed_posts(warm.conn, path, b"{}", warm.headers, 100)
            (container,) = [c for c in warm.containers() if (c["action"] or "").startswith(f"guest/{name}@")]
            direct = UnixHTTPConnection(str(run_dir(warm.home) / "invoker0" / container["id"] / "action.sock"))
            run_body = json.dumps({"value": {}, "namespace": "guest", "action_name": f"/guest/{name}",
                                   "action_version": "0.0.1", "activation_id": "0" * 32,
                                   "deadline": "0"}).encode()
            timed_posts(direct, "/run", run_body, headers, 100)
            targets[kind] = (path, direct, run_body)
        for _ in range(10):  # interleaved rounds of every kind and both paths: noise hits them alike
            for kind, (path, direct, run_body) in targets.items():
                direct_ms[kind] += timed_posts(direct, "/run", run_body, headers, args.n // 10)
                api_ms[kind] += timed_posts(warm.conn, path, b"{}", warm.headers, args.n // 10)
    finally:
        warm.stop()
    new_proxy, old_proxy = proxy_rounds(args.n * 4)

    import docker

    client = docker.from_env()
    print(f"machine: {machine()}, runtime docker, bus memory, 256 MB no-op actions")
    print(f"{'kind':<11}{'cold p50':>10}{'cold max':>10}{'prewarm p50':>13}{'prewarm max':>13}"
          f"{'direct p50':>12}{'API p50':>9}{'API p99':>9}{'overhead':>10}{'image':>9}{'build':>8}")
    for kind in KINDS:
        c50, _ = percentiles(cold_ms[kind])
        p50, _ = percentiles(prewarm_ms[kind])
        d50, _ = percentiles(direct_ms[kind])
        a50, a99 = percentiles(api_ms[kind])
        size = client.images.get(kinds.image_of(kind)).attrs["Size"] / 1e6
        build = f"{built[kind]:.0f} s" if kind in built else "-"
        print(f"{kind:<11}{c50:8.0f}ms{max(cold_ms[kind]):8.0f}ms{p50:11.1f}ms{max(prewarm_ms[kind]):11.1f}ms"
              f"{d50:10.3f}ms{a50:7.3f}ms{a99:7.3f}ms{a50 - d50:8.3f}ms{size:6.0f} MB{build:>8}")
    n50, n99 = percentiles(new_proxy)
    o50, o99 = percentiles(old_proxy)
    print(f"proxy /run of a no-op Python action, n={len(new_proxy)} each, interleaved:")
    print(f"  before launchers ({BEFORE_LAUNCHERS})  p50 {o50:.3f} ms  p99 {o99:.3f} ms")
    print(f"  now                          p50 {n50:.3f} ms  p99 {n99:.3f} ms   (+{n50 - o50:.3f} ms at p50)")
    print("targets: prewarm hit <= 50 ms end to end; warm overhead <= 2 ms at p50; proxy +<= 0.2 ms")


if __name__ == "__main__":
    main()
