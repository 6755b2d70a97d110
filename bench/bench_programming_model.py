"""A web action, an API route and a three-component sequence, each beside a plain blocking invoke of
the same no-op action in the same run.

Prints p50/p99 of each path (sequential calls, interleaved in rounds so a noisy moment hits all
alike), what the web path and the gateway add at p50, and what a sequence of three costs as a
multiple of one invoke. Run: python bench/bench_programming_model.py
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import NOOP, machine, percentiles, props, start_backend, timed_posts  # noqa: E402


def request(conn: http.client.HTTPConnection, method: str, path: str, body: object,
            headers: dict[str, str]) -> dict:
    conn.request(method, path, json.dumps(body), headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000, help="sequential calls per path")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="squall-bench-"))
    port = 3900
    backend = start_backend(home, port, "--runtime", "process")
    try:
        user, admin = props(home / "wskprops"), props(home / "admin.wskprops")
        auth = {"Authorization": "Basic " + base64.b64encode(user["AUTH"].encode()).decode(),
                "Content-Type": "application/json"}
        api = http.client.HTTPConnection("127.0.0.1", port)
        request(api, "PUT", "/api/v1/system/namespaces/guest/limits",
                {"invocationsPerMinute": 10_000_000, "concurrentInvocations": 1000},
                {**auth, "Authorization": "Basic " + base64.b64encode(admin["AUTH"].encode()).decode()})
        request(api, "PUT", "/api/v1/namespaces/_/actions/noop?overwrite=true",
                {"exec": {"kind": "python:3", "code": NOOP}, "limits": {"memory": 128},
                 "annotations": [{"key": "web-export", "value": True}]}, auth)
        request(api, "PUT", "/api/v1/namespaces/_/actions/three?overwrite=true",
                {"exec": {"kind": "sequence", "components": ["/_/noop"] * 3}}, auth)
        route = request(api, "POST", "/api/v1/web/whisk.system/apimgmt/createApi.http?responsetype=json", {
            "apidoc": {"namespace": "_", "gatewayBasePath": "/bench", "gatewayPath": "/noop",
                       "gatewayMethod": "POST", "action": {
                           "name": "noop", "namespace": "_", "backendMethod": "POST", "authkey": user["AUTH"],
                           "backendUrl": f"http://127.0.0.1:{port}/api/v1/web/_/default/noop.http"}}}, auth)
        gateway = route["gwApiUrl"].split(str(port), 1)[1] + "/noop"
        paths = {
            "blocking invoke (REST API)": ("/api/v1/namespaces/_/actions/noop?blocking=true&result=true", auth),
            "web action .json (/api/v1/web)": ("/api/v1/web/guest/default/noop.json",
                                               {"Content-Type": "application/json"}),
            "API route (gateway)": (gateway, {"Content-Type": "application/json"}),
            "sequence of three (blocking)": ("/api/v1/namespaces/_/actions/three?blocking=true&result=true", auth),
        }
        for path, headers in paths.values():
            timed_posts(api, path, b"{}", headers, 100)  # warm every path
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, (path, headers) in paths.items():
                samples[name] += timed_posts(api, path, b"{}", headers, args.n // args.rounds)
        p50 = {name: percentiles(s)[0] for name, s in samples.items()}
        invoke = p50["blocking invoke (REST API)"]
        print(f"machine: {machine()}, runtime process, bus memory; a no-op Python action, warm")
        print(f"sequential calls, n={args.n} per path, interleaved in {args.rounds} rounds")
        for name, s in samples.items():
            p, p99 = percentiles(s)
            print(f"  {name:34} p50 {p:6.3f} ms   p99 {p99:6.3f} ms")
        web = p50["web action .json (/api/v1/web)"]
        print(f"  web path adds at p50              {web - invoke:6.3f} ms   (target <= 1 ms)")
        print(f"  gateway adds at p50               {p50['API route (gateway)'] - invoke:6.3f} ms")
        print(f"  sequence of three / one invoke    {p50['sequence of three (blocking)'] / invoke:6.2f}x"
              f"     (target <= 3.5x)")
    finally:
        backend.terminate()
        backend.wait(60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
