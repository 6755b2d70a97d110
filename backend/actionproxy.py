"""The action runtime proxy: speaks OpenWhisk's /init and /run over HTTP/1.1 on a unix socket.

Standard library only, so that it runs unchanged in any Python image and as a plain subprocess.
One connection at a time runs one activation at a time (OpenWhisk's concurrency 1), so the action
runs right on the event loop's thread: nothing else needs it while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import sys
import tempfile
import traceback
import types
import zipfile
from typing import Any, Callable

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
OOM_EXIT_CODE = 137  # what Docker reports for an OOM kill, used here for a MemoryError
VERSION = "1"

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 502: "Bad Gateway"}


class Proxy:
    def __init__(self) -> None:
        self.main: Callable[[Any], Any] | None = None

    def init(self, value: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.main is not None:
            return 403, {"error": "Cannot initialize the action more than once."}
        code = value.get("code")
        if not code:
            return 502, {"error": "Missing main/no code to execute."}
        for key, val in (value.get("env") or {}).items():
            os.environ[str(key)] = val if isinstance(val, str) else json.dumps(val)
        main_name = value.get("main") or "main"
        try:
            module = self._load_binary(code) if value.get("binary") else self._load_source(code)
        except Exception as ex:  # the user's code failed to compile or import
            traceback.print_exc()
            return 502, {"error": f"Initialization has failed due to: {type(ex).__name__}: {ex}"}
        main = getattr(module, main_name, None)
        if not callable(main):
            return 502, {"error": f"Action entrypoint '{main_name}' is not a function."}
        self.main = main
        return 200, {"ok": True}

    @staticmethod
    def _load_source(code: str) -> types.ModuleType:
        module = types.ModuleType("__action__")
        module.__file__ = "__main__.py"
        exec(compile(code, "__main__.py", "exec"), module.__dict__)
        return module

    @staticmethod
    def _load_binary(code: str) -> types.ModuleType:
        root = tempfile.mkdtemp(prefix="action-")
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(code))) as archive:
            archive.extractall(root)
        entry = os.path.join(root, "__main__.py")
        if not os.path.exists(entry):
            raise ImportError("Zip file does not include mandatory files.")
        for extra in (os.path.join(root, "virtualenv", "lib"),):
            if os.path.isdir(extra):
                for child in os.listdir(extra):
                    sys.path.insert(0, os.path.join(extra, child, "site-packages"))
        sys.path.insert(0, root)
        os.chdir(root)
        module = types.ModuleType("__action__")
        module.__file__ = entry
        with open(entry, encoding="utf-8") as source:
            exec(compile(source.read(), entry, "exec"), module.__dict__)
        return module

    def run(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.main is None:
            return 502, {"error": "Cannot run an action that was not initialized."}
        for key, val in body.items():
            if key != "value":
                os.environ["__OW_" + key.upper()] = val if isinstance(val, str) else json.dumps(val)
        try:
            result = self.main(body.get("value") or {})
        except MemoryError:
            sys.stderr.write("MemoryError: the action ran out of memory\n")
            sys.stderr.flush()
            os._exit(OOM_EXIT_CODE)
        except Exception as ex:
            traceback.print_exc()
            result = {"error": f"{type(ex).__name__}: {ex}" if not str(ex) else str(ex)}
        if not isinstance(result, (dict, list)):
            return 502, {"error": "The action did not return a dictionary or array."}
        return 200, result


def _end_activation() -> None:
    """Mark the end of this activation's logs on both streams (the invoker cuts there)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.write(SENTINEL + "\n")
            stream.flush()
        except Exception:
            pass


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: Proxy) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            try:
                method, path, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                return
            length = 0
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            raw = await reader.readexactly(length) if length else b""
            status, payload = _dispatch(proxy, method, path, raw)
            try:
                data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError):
                status, data = 502, b'{"error":"The action did not produce a valid JSON response."}'
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (status, _REASONS.get(status, "Error").encode(), len(data)) + data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


def _dispatch(proxy: Proxy, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    if method != "POST" or path not in ("/init", "/run"):
        return 404, {"error": "Not found."}
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return 400, {"error": "The request body is not valid JSON."}
    if not isinstance(body, dict):
        return 400, {"error": "The request body must be a JSON object."}
    if path == "/init":
        return proxy.init(body.get("value") or {})
    try:
        return proxy.run(body)
    finally:
        _end_activation()


async def main_async(socket_path: str) -> None:
    proxy = Proxy()
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    server = await asyncio.start_unix_server(lambda r, w: _serve(r, w, proxy), path=socket_path,
                                             limit=64 * 1024 * 1024)
    os.chmod(socket_path, 0o777)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenWhisk action runtime proxy on a unix socket")
    parser.add_argument("--socket", default=os.environ.get("SQUALL_PROXY_SOCKET", "/squall/action.sock"))
    args = parser.parse_args()
    try:
        asyncio.run(main_async(args.socket))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
