"""The action runtime proxy: speaks OpenWhisk's /init and /run over HTTP/1.1 on a unix socket
(or, in a blackbox image, on a TCP port: `--port`, with the action baked in: `--action FILE`).

Standard library only, so that it runs unchanged in any image and as a plain subprocess. One
activation runs at a time (OpenWhisk's concurrency 1), so the proxy is a plain readiness loop over
its connections and the action runs on its thread (and may run an event loop of its own).

Python actions run in this process. Any other language runs in a launcher (`--launcher`, the
actionloop idea) that this proxy starts with itself (so a prewarmed container has its JVM or node
up already), and the HTTP side, the log sentinels, the crash and memory handling and the failure
texts stay here, in one place for every language:

- stdin: one JSON line per request. The first is the init, `{"dir": ..., "main": ..., "env":
  {...}}`: the directory holds `action.src` (source) or `action.bin` (binary), a zip's contents
  extracted under `unzipped/`. Then each run, `{"value": {...}, "env": {"__OW_...": ...}}`.
- stdout and stderr are this proxy's own (the logs, so they precede the sentinels); fd 3: one
  JSON line per answer: `{"ok": true}` or `{"error": ...}` for the init, then each result.
- A launcher that exits takes this proxy with it (a crash, as a Python action's would be); one of
  the exit codes `--oom-exit-codes` exits as an out-of-memory kill.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import stat
import sys
import types

# Every cold start waits on this module's imports: what only a zip, a launcher or an error needs
# is imported where it is used (asyncio, zipfile and the like took 60 ms of a proxy's start in the
# image; argparse, typing and traceback about 15 ms more), and type checkers alone see
# the typing names.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import io
    import subprocess
    from typing import Any, Callable

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
OOM_EXIT_CODE = 137  # what Docker reports for an OOM kill, used here for a MemoryError
VERSION = "1"

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 502: "Bad Gateway"}


class Proxy:
    def __init__(self, launcher: list[str] | None = None, oom_exit_codes: frozenset[int] = frozenset(),
                 action_file: str | None = None) -> None:
        self.main: Callable[[Any], Any] | None = None
        self.launcher = Launcher(launcher, oom_exit_codes) if launcher else None
        self.action_file = action_file  # a blackbox image's baked-in action, for an /init without code

    def init(self, value: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.main is not None or (self.launcher is not None and self.launcher.initialized):
            return 403, {"error": "Cannot initialize the action more than once."}
        code = value.get("code")
        if not code and self.action_file:  # a blackbox action's /init brings no code: run the baked one
            with open(self.action_file, encoding="utf-8") as source:
                code, value = source.read(), {**value, "binary": False}
        if not code:
            return 502, {"error": "Missing main/no code to execute."}
        main_name = value.get("main") or "main"
        if self.launcher is not None:  # started before this init: it takes the init's env itself
            return self.launcher.init(code, bool(value.get("binary")), main_name, value.get("env") or {})
        for key, val in (value.get("env") or {}).items():
            os.environ[str(key)] = val if isinstance(val, str) else json.dumps(val)
        try:
            module = self._load_binary(code) if value.get("binary") else self._load_source(code)
        except Exception as ex:  # the user's code failed to compile or import
            _print_exc()
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
        import base64
        import io
        import tempfile
        import zipfile
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
        env = {"__OW_" + key.upper(): val if isinstance(val, str) else json.dumps(val)
               for key, val in body.items() if key != "value"}
        if self.launcher is not None and self.launcher.ready:
            result = self.launcher.run(body.get("value") or {}, env)
            if not isinstance(result, (dict, list)):
                return 502, {"error": "The action did not return a dictionary or array."}
            return 200, result
        if self.main is None:
            return 502, {"error": "Cannot run an action that was not initialized."}
        for key, val in env.items():  # only what changed: each putenv costs (the id changes every run)
            if os.environ.get(key) != val:
                os.environ[key] = val
        try:
            result = self.main(body.get("value") or {})
        except MemoryError:
            sys.stderr.write("MemoryError: the action ran out of memory\n")
            sys.stderr.flush()
            os._exit(OOM_EXIT_CODE)
        except Exception as ex:
            _print_exc()
            result = {"error": f"{type(ex).__name__}: {ex}" if not str(ex) else str(ex)}
        if not isinstance(result, (dict, list)):
            return 502, {"error": "The action did not return a dictionary or array."}
        return 200, result


class Launcher:
    """The language process of a non-Python action, kept up between activations."""

    def __init__(self, command: list[str], oom_exit_codes: frozenset[int]) -> None:
        self.command = command
        self.oom_exit_codes = oom_exit_codes
        self.process: subprocess.Popen[bytes] | None = None
        self.answers: io.BufferedReader | None = None
        self.initialized = False
        self.ready = False

    def start(self) -> None:
        """With the proxy, before any /init: a prewarmed container has its runtime (a JVM, node)
        up already, and an init only loads the action's code."""
        import subprocess
        read_end, write_end = os.pipe()

        def answers_on_fd3() -> None:  # in the child; every other descriptor closes at exec (PEP 446)
            if write_end == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(write_end, 3)

        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, close_fds=False,
                                        preexec_fn=answers_on_fd3)
        os.close(write_end)
        self.answers = os.fdopen(read_end, "rb")

    def init(self, code: str, binary: bool, main: str, env: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        import base64
        import io
        import tempfile
        import zipfile
        self.initialized = True
        root = tempfile.mkdtemp(prefix="action-")
        if binary:
            try:
                data = base64.b64decode(code)
            except ValueError:
                return 502, {"error": "The action's binary is not valid base64."}
            with open(os.path.join(root, "action.bin"), "wb") as out:
                out.write(data)
            if zipfile.is_zipfile(io.BytesIO(data)):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    archive.extractall(os.path.join(root, "unzipped"))
        else:
            with open(os.path.join(root, "action.src"), "w", encoding="utf-8") as out:
                out.write(code)
        answer = self._ask({"dir": root, "main": main, "env": env})
        if isinstance(answer, dict) and answer.get("ok") is True:
            self.ready = True
            return 200, {"ok": True}
        error = answer.get("error") if isinstance(answer, dict) else None
        return 502, {"error": error if isinstance(error, str) and error else "Missing main/no code to execute."}

    def run(self, value: Any, env: dict[str, str]) -> Any:
        return self._ask({"value": value, "env": env})

    def _ask(self, message: dict[str, Any]) -> Any:
        """One line to the launcher, its one line back."""
        assert self.process is not None and self.process.stdin is not None
        request = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            self.process.stdin.write(request.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._died()
        return self._answer()

    def _answer(self) -> Any:
        assert self.answers is not None
        line = self.answers.readline()
        if not line:
            self._died()
        try:
            return json.loads(line)
        except ValueError:
            return None  # not JSON: "did not return a dictionary"

    def _died(self) -> None:
        """The launcher is gone: so is this proxy, as a Python action's crash would take it."""
        assert self.process is not None
        code = self.process.wait()
        if code < 0:  # killed by a signal: report it as a shell would (SIGABRT 134, SIGKILL 137)
            code = 128 - code
        sys.stdout.flush()
        sys.stderr.flush()
        if code in self.oom_exit_codes or code == OOM_EXIT_CODE:
            os._exit(OOM_EXIT_CODE)
        os._exit(code or 1)


def _end_activation() -> None:
    """Mark the end of this activation's logs on both streams (the invoker cuts there)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.write(SENTINEL + "\n")
            stream.flush()
        except Exception:
            pass


def read_head(buffer: bytearray, head_end: int) -> tuple[list[bytes], int]:
    """An HTTP message's head (the bytes before `head_end`): the words of its first line and its
    Content-Length, 0 without one. The invoker's client reads the proxy's answers with it too."""
    lines = bytes(buffer[:head_end]).split(b"\r\n")
    length = 0
    for header in lines[1:]:
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return lines[0].split(b" ", 2), length


def _serve_ready(conn: socket.socket, buffer: bytearray, proxy: Proxy) -> bool:
    """What one readable connection sent: every whole request in it answered in turn, the action
    run right here (nothing else may run while it does); False once the connection is done."""
    try:
        chunk = conn.recv(1 << 16)
        if not chunk:
            return False
        buffer += chunk
        while (head_end := buffer.find(b"\r\n\r\n")) >= 0:
            start_line, length = read_head(buffer, head_end)
            method, path, _ = (word.decode("latin-1") for word in start_line)
            if len(buffer) < head_end + 4 + length:
                return True  # the body is still on its way
            raw = bytes(buffer[head_end + 4:head_end + 4 + length])
            del buffer[:head_end + 4 + length]
            status, payload = _dispatch(proxy, method, path, raw)
            try:
                data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError):
                status, data = 502, b'{"error":"The action did not produce a valid JSON response."}'
            conn.sendall(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (status, _REASONS.get(status, "Error").encode(), len(data)) + data)
        return True
    except (OSError, ValueError):  # the invoker went away, or sent what is not HTTP
        return False


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


def logs_to_pipes(socket_path: str) -> None:
    """Where the invoker made FIFOs named stdout and stderr beside the socket (the Docker runtime
    does), this process's fds 1 and 2 (and so a launcher's and the action's children's) go there:
    the invoker reads them directly instead of through the container engine."""
    directory = os.path.dirname(socket_path)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        path = os.path.join(directory, name)
        try:
            is_fifo = stat.S_ISFIFO(os.stat(path).st_mode)
        except OSError:
            continue
        if is_fifo:
            target = os.open(path, os.O_WRONLY)  # the invoker holds the read end open already
            os.dup2(target, fd)
            os.close(target)


def listen(socket_path: str, port: int | None = None) -> socket.socket:
    if port is not None:  # a blackbox image: the invoker connects to the container's address
        listener = socket.create_server(("0.0.0.0", port), backlog=16)
    else:
        if os.path.exists(socket_path):
            os.unlink(socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_path)
        listener.listen(16)
        os.chmod(socket_path, 0o777)
    return listener


def serve_forever(listener: socket.socket, proxy: Proxy) -> None:
    """A plain readiness loop: the invoker holds one connection, but another (a probe, a direct
    /run) is served too, one request at a time, and no event loop is paid for (asyncio cost an
    action process 410 µs of CPU per /run at c=32, this 245 µs, and 58 ms of its start)."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytearray] = {}
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                buffers[conn] = bytearray()
                selector.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            if not _serve_ready(conn, buffers[conn], proxy):
                selector.unregister(conn)
                del buffers[conn]
                conn.close()


def _print_exc() -> None:
    import traceback

    traceback.print_exc()


OPTIONS = {
    "--socket": "the unix socket to listen on (default: $SQUALL_PROXY_SOCKET or /squall/action.sock)",
    "--port": "listen on this TCP port on every address instead (blackbox)",
    "--action": "FILE: the action's source when /init brings no code",
    "--launcher": "a JSON list: the command that runs a non-Python action",
    "--oom-exit-codes": "launcher exit codes that mean out of memory, comma-separated",
}


def parse_args(argv: list[str]) -> dict[str, str]:
    """`--name value` or `--name=value` for each of OPTIONS (argparse is a cold start's cost)."""
    args: dict[str, str] = {}
    rest = iter(argv)
    for arg in rest:
        name, has_value, value = arg.partition("=")
        if name in ("-h", "--help"):
            print("actionproxy: OpenWhisk action runtime proxy on a unix socket\n" +
                  "\n".join(f"  {option} {text}" for option, text in OPTIONS.items()))
            raise SystemExit(0)
        if name not in OPTIONS:
            raise SystemExit(f"actionproxy: unknown option {name}")
        if not has_value:
            value = next(rest, None)  # type: ignore[assignment]
            if value is None:
                raise SystemExit(f"actionproxy: {name} needs a value")
        args[name[2:]] = value
    return args


def main() -> None:
    args = parse_args(sys.argv[1:])
    socket_path = args.get("socket", os.environ.get("SQUALL_PROXY_SOCKET", "/squall/action.sock"))
    try:
        port = int(args["port"]) if "port" in args else None
        codes = frozenset(int(c) for c in args.get("oom-exit-codes", "").split(",") if c.strip())
    except ValueError as ex:
        raise SystemExit(f"actionproxy: {ex}") from None
    launcher = json.loads(args["launcher"]) if "launcher" in args else None
    if port is None:
        logs_to_pipes(socket_path)
    proxy = Proxy(launcher, codes, args.get("action"))
    if proxy.launcher is not None:
        proxy.launcher.start()
    try:
        serve_forever(listen(socket_path, port), proxy)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
