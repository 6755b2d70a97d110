"""Node.js: Debian's nodejs in the image (the host's node for the process runtime)."""

from __future__ import annotations

from . import Language

HEAP_SHARE = 0.75  # of the container's memory: the rest is for node's own code and buffers
V8_HEAP_OOM_EXIT = 134  # node aborts when its heap limit is reached


def command(memory_mb: int, launchers: str) -> list[str]:
    """--single-threaded: no V8 helper threads (concurrent marking, background compiles) competing
    with the invoker for the host's cores while one activation at a time runs here: measured, it
    took 0.3-0.6 ms off the warm overhead at p50 on 2 cores (bench/bench_runtimes.py)."""
    heap = max(16, int(memory_mb * HEAP_SHARE))
    return ["node", "--single-threaded", f"--max-old-space-size={heap}", f"{launchers}/nodejs/launcher.js"]


LANGUAGE = Language(
    family="nodejs", image="squall/action-nodejs18:latest", apt_packages=("nodejs",),
    files=("nodejs/launcher.js",), oom_exit_codes=frozenset({V8_HEAP_OOM_EXIT}),
    command=command, host_program="node")
