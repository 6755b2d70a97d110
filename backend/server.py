"""`squall up`: the whole backend in one process (store, bus, invokers, controller, HTTP API).

`Squall` is also what the console and the tests embed, so they run exactly what `squall up` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import uvicorn

from .bus import Bus, MemoryBus
from .api import create_app
from .api.coalescing import CoalescingHttpProtocol
from .busypoll import DEFAULT_WINDOW_US, BusyPoll
from .controller import Controller
from .containers import MAX_STARTS
from .invoker import Invoker
from . import heap, kinds, languages
from .errors import EntityError
from .kinds import DEFAULT_KIND
from .limits import MEMORY_DEFAULT_MB
from .names import DEFAULT_NAMESPACE, SYSTEM_NAMESPACE
from .process_runtime import ProcessRuntime
from .runtimes import Runtime, run_dir
from .store import Store

log = logging.getLogger("squall")
SLOW_STOP_PHASE_S = 2.0  # a stop phase longer than this is logged with what it waited for


def default_home() -> Path:
    return Path(os.environ.get("SQUALL_HOME") or Path.home() / ".squall")


@dataclass
class Config:
    home: Path = field(default_factory=default_home)
    host: str = "127.0.0.1"
    port: int = 3233
    invokers: int = 1
    bus: str = "memory"
    runtime: str = "auto"
    user_memory_mb: int = 2048
    idle_timeout_s: float = 600.0
    max_starts: int = MAX_STARTS
    # kind -> per invoker; two 256 MB stem cells, as OpenWhisk keeps of its default kind: a
    # smaller action takes one with its limit lowered (a spike's first two containers)
    prewarm: dict[str, int] = field(default_factory=lambda: {DEFAULT_KIND: 2})
    shutdown_grace_s: float = 30.0
    ack_min_s: float = 60.0
    ack_extra_s: float = 60.0
    kafka: str = "127.0.0.1:9092"
    kafka_prefix: str = ""
    kafka_partitions: int = 4
    busy_poll_us: int = DEFAULT_WINDOW_US  # 0: the loop sleeps whenever it waits (busypoll.py)
    prewarm_policy: str = "off"  # "hybrid": learned per action (prewarm_policy.py)

    @property
    def api_host(self) -> str:
        return f"http://{self.host}:{self.port}"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: `squall up` and the console decide when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def choose_runtime(config: Config) -> Runtime:
    """Pick the runtime and say why: only Docker isolates untrusted code."""
    work_dir = run_dir(config.home)
    if config.runtime not in ("auto", "docker", "process"):
        raise SystemExit(f"error: unknown runtime '{config.runtime}' (auto, docker or process)")
    if config.runtime in ("auto", "docker"):
        from .docker_runtime import DockerRuntime

        reason = DockerRuntime.unavailable_reason()
        if reason is None:
            log.info("runtime: docker (%s)", "asked for with --runtime docker" if config.runtime == "docker"
                     else "the Docker engine answers and the runtime image is present")
            stale = DockerRuntime.stale_kinds()
            if stale:
                log.warning("not built or stale, so these kinds cannot run until `squall runtime build`: %s",
                            ", ".join(stale))
            return DockerRuntime(work_dir, config.api_host)
        if config.runtime == "docker":
            raise SystemExit(f"error: cannot use the Docker runtime: {reason}")
        log.info("runtime: process (%s)", reason)
    else:
        log.info("runtime: process (asked for with --runtime process)")
    log.warning("the process runtime runs actions as local subprocesses with resource limits only: "
                "it does NOT isolate untrusted code")
    for language in languages.LANGUAGES.values():
        missing = language.host_missing()
        if missing:
            log.warning("the process runtime cannot run %s actions here: %s", language.family, missing)
    return ProcessRuntime(work_dir, config.api_host)


def make_bus(config: Config) -> Bus:
    if config.bus == "memory":
        return MemoryBus()
    if config.bus == "kafka":
        from .kafka_bus import KafkaBus

        return KafkaBus(config.kafka, config.kafka_prefix, config.kafka_partitions)
    raise SystemExit(f"error: unknown bus '{config.bus}' (memory or kafka)")


def make_invoker(config: Config, invoker_id: int, bus: Bus, runtime: Runtime,
                 busy_poll: BusyPoll | None = None) -> Invoker:
    prewarm = {(kind, MEMORY_DEFAULT_MB): n for kind, n in config.prewarm.items() if n} or None
    return Invoker(invoker_id, bus, runtime, user_memory_mb=config.user_memory_mb,
                   idle_timeout_s=config.idle_timeout_s, prewarm=prewarm, max_starts=config.max_starts,
                   busy_poll=busy_poll or BusyPoll(config.busy_poll_us),
                   learned_prewarm=config.prewarm_policy == "hybrid")


def write_wskprops(path: Path, api_host: str, auth: str, namespace: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"APIHOST={api_host}\nAUTH={auth}\nNAMESPACE={namespace}\n")
    tmp.chmod(0o600)
    tmp.replace(path)


class Squall:
    """The embedded backend: everything `squall up` runs, startable and stoppable from asyncio."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.home / "squall.db")
        self.bus = make_bus(config)
        # A controller-only process (--invokers 0, invokers elsewhere on Kafka) runs no actions.
        self.runtime = choose_runtime(config) if config.invokers else None
        self.busy_poll = BusyPoll(config.busy_poll_us)  # the process's one loop: shared
        self.invokers = [make_invoker(config, i, self.bus, self.runtime, self.busy_poll)
                         for i in range(config.invokers) if self.runtime is not None]
        self.controller = Controller(self.store, self.bus, api_host=config.api_host,
                                     runtime_name=self.runtime.name if self.runtime else "",
                                     ack_min_s=config.ack_min_s,
                                     ack_extra_s=config.ack_extra_s)
        self.app = create_app(self.controller)
        self._server: _EmbeddedServer | None = None
        self._serve_task: asyncio.Task[None] | None = None

    @property
    def api_host(self) -> str:
        return self.config.api_host

    @property
    def user_props(self) -> Path:
        return self.config.home / "wskprops"

    @property
    def admin_props(self) -> Path:
        return self.config.home / "admin.wskprops"

    async def start(self) -> None:
        self.config.home.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        await self.bus.start()
        await self.controller.start()
        for invoker in self.invokers:
            await invoker.start()
        guest = self.controller.identity(DEFAULT_NAMESPACE)
        admin = self.controller.identity(SYSTEM_NAMESPACE)
        assert guest is not None and admin is not None
        write_wskprops(self.user_props, self.api_host, guest.auth, guest.namespace)
        write_wskprops(self.admin_props, self.api_host, admin.auth, admin.namespace)
        await self._wait_for_invokers()
        uv_config = uvicorn.Config(self.app, host=self.config.host, port=self.config.port,
                                   log_level="warning", access_log=False, lifespan="off",
                                   loop="none",
                                   http=functools.partial(CoalescingHttpProtocol, busy_poll=self.busy_poll),
                                   timeout_graceful_shutdown=int(self.config.shutdown_grace_s) + 5)
        self._server = _EmbeddedServer(uv_config)
        self._serve_task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serve_task.done():
                await self._serve_task  # surfaces the bind error
                raise SystemExit(f"error: could not serve on {self.api_host}")
            await asyncio.sleep(0.01)
        log.info("controller listening on %s", self.api_host)

    async def _wait_for_invokers(self) -> None:
        for _ in range(200):
            if len(self.controller.lb.healthy()) >= len(self.invokers):
                return
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, let running activations finish or end with a record, remove containers."""
        self.controller.accepting = False
        if self._server is not None:
            self._server.should_exit = True
        async with _phase("the running activations"):
            await self.controller.drain(self.config.shutdown_grace_s)
        if self._serve_task is not None:
            async with _phase("the open HTTP requests"):
                await asyncio.gather(self._serve_task, return_exceptions=True)
        for invoker in self.invokers:
            async with _phase(f"invoker{invoker.id} and its containers"):
                await invoker.stop(grace_s=1.0)
        await self.controller.stop()
        await self.bus.stop()
        async with _phase("the store's last writes"):
            await self.store.close()


@contextlib.asynccontextmanager
async def _phase(what: str) -> AsyncIterator[None]:
    """A stop that takes long says what it waited for (an operator's `kill` is otherwise blind)."""
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    if took > SLOW_STOP_PHASE_S:
        log.warning("stopping: waited %.1fs for %s", took, what)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    d = Config()
    parser.add_argument("--host", default=d.host, help="address the controller listens on")
    parser.add_argument("--port", type=int, default=d.port)
    parser.add_argument("--home", type=Path, default=None,
                        help="state directory (default $SQUALL_HOME, else ~/.squall)")
    parser.add_argument("--invokers", type=int, default=d.invokers, help="in-process invokers")
    parser.add_argument("--bus", default=d.bus, choices=["memory", "kafka"])
    parser.add_argument("--runtime", default=d.runtime, choices=["auto", "docker", "process"])
    parser.add_argument("--user-memory", type=int, default=d.user_memory_mb, dest="user_memory_mb",
                        help="MB of action memory per invoker")
    parser.add_argument("--idle-timeout", type=float, default=d.idle_timeout_s, dest="idle_timeout_s",
                        help="seconds before an idle warm container is removed")
    parser.add_argument("--max-cold-starts", type=int, default=d.max_starts, dest="max_starts",
                        help="cold starts an invoker runs at once (more wait for the first free container)")
    parser.add_argument("--prewarm", type=parse_prewarm, default=d.prewarm,
                        help="prewarmed containers per invoker: N (python:3), or KIND=N,... "
                             "(e.g. python:3=2,nodejs:default=1)")
    parser.add_argument("--prewarm-policy", default=d.prewarm_policy, choices=["off", "hybrid"],
                        dest="prewarm_policy",
                        help="hybrid: keep or bring back each action's containers as its past idle times "
                             "predict (the hybrid histogram policy); off: the idle timeout alone")
    parser.add_argument("--kafka", default=d.kafka, help="Kafka bootstrap servers (with --bus kafka)")
    parser.add_argument("--kafka-prefix", default=d.kafka_prefix, help="prefix of Squall's topics and groups")
    parser.add_argument("--kafka-partitions", type=int, default=d.kafka_partitions, dest="kafka_partitions",
                        help="partitions of each invoker topic (created, or grown, to this many)")
    parser.add_argument("--ack-timeout-min", type=float, default=d.ack_min_s, dest="ack_min_s",
                        help="an activation with no ack is ended after max(its timeout, this) x 2 + "
                             "--ack-timeout-extra seconds")
    parser.add_argument("--ack-timeout-extra", type=float, default=d.ack_extra_s, dest="ack_extra_s")
    parser.add_argument("--busy-poll-us", type=int, default=d.busy_poll_us, dest="busy_poll_us",
                        help="microseconds the event loop polls instead of sleeping when its next event "
                             "is near (a caller's next request, a fast action's answer); 0: never")
    parser.add_argument("--log-level", default="info")


def parse_prewarm(text: str) -> dict[str, int]:
    """`--prewarm`: a count of python:3 containers, or counts per kind (`<family>:default` resolved)."""
    if text.strip().isdigit():
        return {DEFAULT_KIND: int(text)}
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, count = part.partition("=")
        if not sep or not count.strip().isdigit():
            raise argparse.ArgumentTypeError(f"'{part}' is not KIND=COUNT")
        try:
            resolved = kinds.resolve(kind.strip())
        except EntityError as ex:
            raise argparse.ArgumentTypeError(ex.message) from None
        counts[resolved] = int(count)
    return counts


def config_from_args(args: argparse.Namespace) -> Config:
    return Config(home=args.home or default_home(), host=args.host, port=args.port, invokers=args.invokers,
                  bus=args.bus, runtime=args.runtime, user_memory_mb=args.user_memory_mb,
                  idle_timeout_s=args.idle_timeout_s, max_starts=args.max_starts, prewarm=args.prewarm, kafka=args.kafka,
                  kafka_prefix=args.kafka_prefix, kafka_partitions=args.kafka_partitions,
                  ack_min_s=args.ack_min_s, ack_extra_s=args.ack_extra_s, busy_poll_us=args.busy_poll_us,
                  prewarm_policy=args.prewarm_policy)


async def run_until_signalled(squall: Squall) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await squall.start()
    heap.settle()
    runtime = squall.runtime.name if squall.runtime else "none in this process"
    print(f"Squall is up at {squall.api_host} (runtime {runtime}, bus {squall.bus.name}, "
          f"{len(squall.invokers)} local invoker(s)).\n"
          f"  credentials: {squall.user_props} (admin: {squall.admin_props})\n"
          f"  try: squall action create hello hello.py && squall action invoke hello -p name World --result\n"
          f"  stop with Ctrl+C", flush=True)
    await stop.wait()
    log.info("stopping: no new activations; waiting for running ones")
    await squall.stop()
    log.info("stopped")


async def run_invoker_until_signalled(config: Config, invoker_id: int) -> None:
    """`squall invoker`: one invoker as a process of its own, on this host or another."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bus = make_bus(config)
    await bus.start()
    invoker = make_invoker(config, invoker_id, bus, choose_runtime(config))
    await invoker.start()
    heap.settle()
    print(f"invoker{invoker_id} is up on {bus.name} {config.kafka} (runtime {invoker.runtime.name}, "
          f"{config.user_memory_mb} MB)", flush=True)
    await stop.wait()
    log.info("invoker%d stopping: no new activations; waiting for running ones", invoker_id)
    await invoker.stop(grace_s=config.shutdown_grace_s)
    await bus.stop()
    log.info("invoker%d stopped", invoker_id)


def _run(coro: Any) -> None:
    """Run on uvloop where it is installed: the HTTP and socket hops are noticeably faster."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["runtime"]:
        from .images import main as runtime_main
        return runtime_main(argv[1:])
    parser = argparse.ArgumentParser(prog="squall", description="Squall backend")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the controller and invokers in this process (headless)")
    add_backend_arguments(up)
    inv = sub.add_parser("invoker", help="run an invoker as a process of its own (needs --bus kafka)")
    inv.add_argument("--id", type=int, required=True)
    add_backend_arguments(inv)
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    if args.command == "invoker":
        config = config_from_args(args)
        if config.bus != "kafka":
            print("error: an invoker process of its own talks to its controller through Kafka: "
                  "add --bus kafka --kafka HOST:PORT", file=sys.stderr)
            return 2
        try:
            _run(run_invoker_until_signalled(config, args.id))
        except OSError as ex:
            print(f"error: {ex}", file=sys.stderr)
            return 1
        return 0
    squall = Squall(config_from_args(args))
    try:
        _run(run_until_signalled(squall))
    except OSError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
