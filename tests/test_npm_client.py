"""Compatibility with the official JavaScript client, the npm package `openwhisk`.

The Node scripts in tests/js drive a real `squall up` through the client (and plain `fetch` for web
actions and API routes); each runs in a fresh namespace, exits non-zero on its first failed
assertion and prints one JSON line of what it observed. The node modules are installed here with
`npm ci` from the committed lock file, once, and again only when the lock file changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import Server

JS = Path(__file__).resolve().parent / "js"
LOCK = JS / "package-lock.json"
MODULES = JS / "node_modules"
#: Written into node_modules after a successful `npm ci`: the digest of the files it installed from.
STAMP = MODULES / ".squall-installed"
NPM_TIMEOUT = 600.0
SCRIPT_TIMEOUT = 180.0
MIN_NODE = 18  # fetch, AbortSignal.timeout; the client's own `engines`
#: Never let the scripts (the client honours these) or npm's children reach past loopback by a proxy.
PROXY_VARS = ("PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def _manifest_digest() -> str:
    digest = hashlib.sha256()
    for path in (JS / "package.json", LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _text(output: str | bytes | None) -> str:
    """What a timed-out child printed (TimeoutExpired keeps bytes even with text=True)."""
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k.upper() not in PROXY_VARS and not k.startswith("__OW_")}


def _node_or_skip() -> str:
    """The node binary; a missing node or npm skips here, and fails in CI."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH: the npm client tests need Node.js {MIN_NODE}+ and npm"
        if os.environ.get("CI"):
            pytest.fail(f"in CI {reason}")
        pytest.skip(reason)
    assert node is not None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    found = re.match(r"v(\d+)\.", version)
    assert found and int(found.group(1)) >= MIN_NODE, f"Node.js {MIN_NODE}+ is needed, found {version!r}"
    return node


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with tests/js/node_modules installed from the lock file (`npm ci` when missing or stale)."""
    node = _node_or_skip()
    lock_path = Path(tempfile.gettempdir()) / f"squall-npm-{hashlib.sha256(str(JS).encode()).hexdigest()[:12]}.lock"
    with lock_path.open("w") as lock:  # one installer at a time, should two runs share the tree
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = _manifest_digest()
        if not STAMP.exists() or STAMP.read_text().strip() != wanted:
            npm = shutil.which("npm")
            assert npm is not None
            try:
                done = subprocess.run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=JS,
                                      env=_clean_env(), capture_output=True, text=True, timeout=NPM_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                pytest.fail(f"npm ci did not finish in {NPM_TIMEOUT:.0f}s:\n{_text(exc.stdout)}\n{_text(exc.stderr)}")
            assert done.returncode == 0, f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            STAMP.write_text(wanted + "\n")
    return node


@pytest.fixture
def namespace(server: Server) -> tuple[str, str]:
    return server.new_namespace()


def run_script(node: str, server: Server, namespace: tuple[str, str], script: str) -> dict[str, Any]:
    """Runs tests/js/`script` against the server in `namespace`; returns its JSON line."""
    name, auth = namespace
    env = {**_clean_env(), "__OW_API_HOST": server.apihost, "__OW_API_KEY": auth, "__OW_NAMESPACE": name,
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    try:
        done = subprocess.run([node, script], cwd=JS, env=env, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} did not finish in {SCRIPT_TIMEOUT:.0f}s:\n{_text(exc.stdout)}\n{_text(exc.stderr)}")
    assert done.returncode == 0, (f"{script} exited {done.returncode}:\n{done.stderr.strip()}\n{done.stdout.strip()}"
                                  f"\n--- server log (tail) ---\n{server.log()[-3000:]}")
    lines = done.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing\n{done.stderr}"
    observed = json.loads(lines[-1])
    assert observed["ok"] is True and observed["script"] == Path(script).stem
    return observed


def test_package_json_pins_the_client_and_the_lock_file_uses_only_the_registry() -> None:
    package = json.loads((JS / "package.json").read_text())
    assert package["private"] is True
    assert re.fullmatch(r"3\.21\.\d+", package["dependencies"]["openwhisk"]), package["dependencies"]
    lock = json.loads(LOCK.read_text())
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"]["node_modules/openwhisk"]["version"] == package["dependencies"]["openwhisk"]
    urls = re.findall(r'"(\w+://[^"]*)"', LOCK.read_text())
    for name, entry in lock["packages"].items():
        if not name:
            continue
        assert entry.get("integrity", "").startswith("sha512-"), name
        resolved = entry.get("resolved")
        assert resolved is None or re.fullmatch(
            rf"https://registry\.npmjs\.org/(@[\w.-]+/)?[\w.-]+/-/[\w.-]+-{re.escape(entry['version'])}\.tgz",
            resolved), (name, resolved)
    assert all(url.startswith("https://registry.npmjs.org/") for url in urls), urls


def test_installed_client_is_the_pinned_one(node: str) -> None:
    pinned = json.loads((JS / "package.json").read_text())["dependencies"]["openwhisk"]
    assert json.loads((MODULES / "openwhisk" / "package.json").read_text())["version"] == pinned


def test_packages_and_bindings(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "packages.mjs")
    assert seen["created"] == {"version": "0.0.1", "annotations": []}
    assert seen["updated"] == "0.0.2"
    assert seen["getActions"] == ["a"]
    assert seen["bindingParameters"] == {"who": "binding", "pkgOnly": 1}
    assert {"cat", "echo", "head", "sort", "split"} <= set(seen["utilsActions"])
    assert seen["listed"] == ["b", "p", "u"]
    assert seen["notEmpty"]["status"] == 409


def test_actions_in_packages_and_bindings(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "package_actions.mjs")
    assert seen["viaPackage"] == {"fromPackage": "package", "fromBinding": "package", "fromAction": "action",
                                  "fromInvocation": "invocation"}
    assert seen["viaBinding"] == {"fromPackage": "package", "fromBinding": "binding", "fromAction": "action",
                                  "fromInvocation": "invocation"}
    assert seen["bindingDefaults"]["fromInvocation"] == "action"
    ns = namespace[0]
    assert seen["recordAnnotations"] == {"path": f"{ns}/p/echo", "binding": f"{ns}/b"}
    assert seen["utilsSort"] == {"lines": ["a", "b", "c"], "length": 3}


def test_sequence_through_a_binding_and_public_utils(node: str, server: Server,
                                                      namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "sequence.mjs")
    assert seen["utilsSort"] == {"lines": [1, 10, 9, "C", "a", "b"], "length": 6}
    sequence = seen["sequence"]
    assert sequence["result"] == {"lines": ["apple", "binding", "zebra"], "length": 3}
    assert len(sequence["logs"]) == 2
    assert sequence["causes"] == [sequence["activationId"]] * 2
    assert seen["failed"] == {"status": 502, "result": {"error": "boom"}, "logs": 1}


def test_web_actions(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "webactions.mjs")
    assert seen["json"]["status"] == 200 and seen["json"]["echoed"]["x"] == "1"
    assert seen["http"] == {"status": 201, "contentType": seen["http"]["contentType"], "body": "hello web"}
    assert seen["http"]["contentType"].startswith("text/plain")
    assert seen["notExported"] == 404 and seen["stringExport"] == 404


def test_api_routes(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "routes.mjs")
    assert seen["routeUrl"].startswith(server.apihost + "/api/")
    assert seen["routeUrl"] == seen["gwApiUrl"] + "/foo/bar"
    assert seen["deletedStatus"] == 404 and seen["missingDelete"] == 502


def test_namespaces(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "namespaces.mjs")
    assert seen["list"] == [namespace[0]]
    assert seen["get"] == {"actions": 1, "packages": 1, "triggers": [], "rules": []}


def test_triggers_rules_and_feeds(node: str, server: Server, namespace: tuple[str, str]) -> None:
    seen = run_script(node, server, namespace, "triggers.mjs")
    assert seen["fireLogs"] == 4
    assert seen["ticks"] == 2  # maxTriggers: 2
    assert seen["tickStatus"]["active"] is False
    assert seen["tickStatus"]["reason"]["message"] == "Automatically disabled after reaching max triggers"
