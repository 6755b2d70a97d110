"""Blackbox actions: any local image that answers OpenWhisk's /init and /run on TCP port 8080.

A blackbox container runs code Squall never saw, so it reaches nothing: not the outside, not the
host, not another container. Every blackbox container joins one Docker network, made here
idempotently, that is

- internal (`internal=True`): Docker drops whatever the bridge would forward out;
- without inter-container traffic (`com.docker.network.bridge.enable_icc=false`): Docker drops
  traffic between two ports of the bridge (the kernel's br_netfilter hands bridged frames to
  iptables; we refuse to run when it does not);
- on a bridge of a fixed name (BRIDGE), so that these rules, installed idempotently, can name it:

      iptables -w -N SQUALL-BLACKBOX
      iptables -w -A SQUALL-BLACKBOX -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      iptables -w -A SQUALL-BLACKBOX -j DROP
      iptables -w -I INPUT 1 -i squall-bbox -j SQUALL-BLACKBOX
      iptables -w -I FORWARD 1 -i squall-bbox -j DROP

  INPUT: from the bridge, only replies to connections the host opened (the invoker's, to port
  8080) reach any of the host's addresses. FORWARD: nothing from the bridge is routed anywhere, a
  container on the same bridge included (icc=false again, should Docker's own rules go).
- IPv6 is switched off inside the containers (SYSCTLS): no link-local way to the host.
- Docker (20.10) still gives a container of an internal network a default route via the bridge;
  the invoker deletes it in the container's network namespace right after the start (nsenter +
  ip), so the container's own table has no way out either. The FORWARD rules already drop what a
  container might send in the instant before; the missing route is the second layer, not the first.

The invoker reaches a container at its address on that network, port 8080. Without iptables (or
root), or with a network of that name that is not isolated, blackbox actions are refused with a
message that says why. `squall runtime skeleton DIR` writes a minimal image to start from.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .images import PROXY_CODE_IN_IMAGE
from .runtimes import RuntimeUnavailable

NETWORK = "squall-blackbox"
BRIDGE = "squall-bbox"  # an interface name: at most 15 characters
CHAIN = "SQUALL-BLACKBOX"
PORT = 8080
NETWORK_OPTIONS = {"com.docker.network.bridge.enable_icc": "false", "com.docker.network.bridge.name": BRIDGE}
SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
BRIDGE_NETFILTER = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")

#: The rules, in order: (chain, rule). The first two make up CHAIN; the others jump to it or drop.
CHAIN_RULES: tuple[tuple[str, ...], ...] = (
    ("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
    ("-j", "DROP"),
)
HOOKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("INPUT", ("-i", BRIDGE, "-j", CHAIN)),
    ("FORWARD", ("-i", BRIDGE, "-j", "DROP")),
)


class BlackboxError(RuntimeUnavailable):
    """A blackbox action cannot start (a developer error even when it is the installation that
    cannot run it: see RuntimeUnavailable)."""


class BlackboxUnavailable(BlackboxError):
    """This invoker cannot run blackbox actions at all (no isolation to be had, or no Docker)."""


class BlackboxStartupError(BlackboxError):
    """The user's image is missing or does not speak the protocol: the developer's to fix."""


def image_pull_error(image: str) -> str:
    """OpenWhisk's text for an image it cannot get (Squall never pulls: the image must be local)."""
    return f"Failed to pull container image '{image}'."


def process_runtime_refusal() -> BlackboxUnavailable:
    return BlackboxUnavailable("Blackbox actions need the Docker runtime; this invoker runs the process "
                               "runtime (start Squall with --runtime docker).")


# --- the firewall ----------------------------------------------------------------------------------


def _iptables(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "-w", *args], capture_output=True, text=True, timeout=30)


def _refuse(what: str, done: subprocess.CompletedProcess[str]) -> BlackboxUnavailable:
    detail = (done.stderr or done.stdout).strip().splitlines()
    return BlackboxUnavailable(f"Blackbox actions are disabled on this invoker: it could not {what} "
                               f"(iptables: {detail[0] if detail else f'exit {done.returncode}'}).")


def install_firewall() -> None:
    """Make the rules of the module's docstring present, each once; safe to call at every start."""
    binary = shutil.which("iptables")
    if binary is None:
        raise BlackboxUnavailable("Blackbox actions are disabled on this invoker: iptables is not installed, "
                                  "so their containers could not be kept from the host.")
    listed = _iptables(binary, "-S", CHAIN)
    if listed.returncode != 0:
        made = _iptables(binary, "-N", CHAIN)
        if made.returncode != 0 and "exists" not in made.stderr:  # another invoker may have just made it
            raise _refuse(f"create the chain {CHAIN}", made)
        listed = _iptables(binary, "-S", CHAIN)
    present = [line for line in listed.stdout.splitlines() if line.startswith("-A ")]
    if len(present) != len(CHAIN_RULES) or any(_iptables(binary, "-C", CHAIN, *rule).returncode != 0
                                               for rule in CHAIN_RULES):
        flushed = _iptables(binary, "-F", CHAIN)
        if flushed.returncode != 0:
            raise _refuse(f"flush the chain {CHAIN}", flushed)
        for rule in CHAIN_RULES:
            added = _iptables(binary, "-A", CHAIN, *rule)
            if added.returncode != 0:
                raise _refuse(f"add a rule to {CHAIN}", added)
    for chain, rule in HOOKS:
        if _iptables(binary, "-C", chain, *rule).returncode != 0:
            added = _iptables(binary, "-I", chain, "1", *rule)
            if added.returncode != 0:
                raise _refuse(f"add a rule to {chain}", added)


def firewall_rules() -> list[str]:
    """The rules as `iptables -S` prints them (for tests and operators)."""
    return ([f"-A {CHAIN} {' '.join(rule)}" for rule in CHAIN_RULES]
            + [f"-A {chain} {' '.join(rule)}" for chain, rule in HOOKS])


# --- the network -----------------------------------------------------------------------------------


def ensure_network(client: Any) -> dict[str, Any]:
    """The isolated network's attributes; made when missing, refused when it is not isolated."""
    import docker.errors

    try:
        network = client.networks.get(NETWORK)
    except docker.errors.NotFound:
        try:
            network = client.networks.create(NETWORK, driver="bridge", internal=True, options=NETWORK_OPTIONS,
                                             check_duplicate=True, labels={"squall.role": "blackbox"})
        except docker.errors.APIError as ex:
            if ex.status_code != 409:  # 409: another invoker made it meanwhile
                raise BlackboxUnavailable(f"Blackbox actions are disabled on this invoker: it could not "
                                          f"create the Docker network {NETWORK} ({ex.explanation}).") from None
            network = client.networks.get(NETWORK)
    attrs = network.attrs
    options = attrs.get("Options") or {}
    if not attrs.get("Internal") or any(options.get(k) != v for k, v in NETWORK_OPTIONS.items()):
        raise BlackboxUnavailable(f"Blackbox actions are disabled on this invoker: the Docker network {NETWORK} "
                                  "exists but is not internal without inter-container traffic on the bridge "
                                  f"{BRIDGE}; remove it (docker network rm {NETWORK}) and Squall makes it again.")
    if not BRIDGE_NETFILTER.exists():
        raise BlackboxUnavailable("Blackbox actions are disabled on this invoker: the kernel's br_netfilter is "
                                  "not loaded (modprobe br_netfilter), so containers could reach each other.")
    if BRIDGE_NETFILTER.read_text().strip() != "1":
        raise BlackboxUnavailable("Blackbox actions are disabled on this invoker: bridged traffic bypasses "
                                  "iptables (net.bridge.bridge-nf-call-iptables is 0), so containers could "
                                  "reach each other.")
    return attrs


def remove_default_route(pid: int) -> None:
    """Delete the default route in the network namespace of the container whose process is `pid`."""
    nsenter, ip = shutil.which("nsenter"), shutil.which("ip")
    if nsenter is None or ip is None:
        raise BlackboxUnavailable("Blackbox actions are disabled on this invoker: it needs nsenter (util-linux) "
                                  "and ip (iproute2) to take their containers' default route away.")
    route = [nsenter, "--target", str(pid), "--net", "--", ip, "-4", "route"]
    deleted = subprocess.run([*route, "del", "default"], capture_output=True, text=True, timeout=30)
    if deleted.returncode == 0:
        return
    left = subprocess.run([*route, "show", "default"], capture_output=True, text=True, timeout=30)
    if left.returncode != 0 or left.stdout.strip():  # there is one, and it stays: refuse
        detail = (deleted.stderr or left.stderr).strip().splitlines()
        raise BlackboxUnavailable("Blackbox actions are disabled on this invoker: it could not remove a "
                                  f"container's default route ({detail[0] if detail else 'no detail'}).")


def gateway(attrs: dict[str, Any]) -> str:
    """The host's address on the network (what a container would dial to reach the host)."""
    return next(c["Gateway"] for c in attrs["IPAM"]["Config"] if c.get("Gateway"))


class BlackboxNetwork:
    """The network and the firewall, checked before every blackbox cold start (the checks are
    cheap next to starting a container, and rules someone flushed come back)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._lock = asyncio.Lock()

    async def ready(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._ensure)

    def _ensure(self) -> None:
        ensure_network(self.client)
        install_firewall()


# --- the skeleton ----------------------------------------------------------------------------------

SKELETON_DOCKERFILE = """\
# A Squall blackbox action: any image that answers OpenWhisk's POST /init and POST /run on port 8080.
# This one is Squall's Python runtime image (built here, no registry: squall runtime build python:3)
# with the handler baked in; replace the FROM and CMD with anything that speaks the same protocol.
FROM squall/action-python3:latest
COPY handler.py /action/handler.py
EXPOSE {port}
CMD ["python3", "-u", "-s", "{proxy}", "--port", "{port}", "--action", "/action/handler.py"]
"""

SKELETON_HANDLER = '''\
"""The action: main gets the invocation's parameters and returns a JSON object (its result).
What it prints on stdout and stderr becomes the activation's logs."""


def main(args):
    name = args.get("name", "stranger")
    print(f"greeting {name}")
    return {"greeting": f"Hello {name}!"}
'''

SKELETON_README = """\
# {name}: a Squall blackbox action

Build, deploy, invoke (no registry: the image stays on this machine's Docker engine):

    docker build -t {image} {directory} && squall action create {name} --docker {image} && squall action invoke {name} -r -p name you

After a change to handler.py, build again and `squall action update {name} --docker {image}`.
"""


class SkeletonError(Exception):
    pass


def skeleton_names(directory: Path) -> tuple[str, str]:
    """An action name and an image name from the directory's name."""
    base = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-") or "blackbox"
    return base.replace("-", "_"), f"{base}:latest"


def write_skeleton(directory: Path, force: bool = False) -> list[Path]:
    """Write Dockerfile, handler.py and README.md into `directory`; existing ones only with force."""
    name, image = skeleton_names(directory)
    files = {
        "Dockerfile": SKELETON_DOCKERFILE.format(port=PORT, proxy=PROXY_CODE_IN_IMAGE),
        "handler.py": SKELETON_HANDLER,
        "README.md": SKELETON_README.format(name=name, image=image, directory=directory),
    }
    existing = [directory / f for f in files if (directory / f).exists()]
    if existing and not force:
        raise SkeletonError(f"{', '.join(str(p) for p in existing)} already exist(s); pass --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file, text in files.items():
        (directory / file).write_text(text)
        written.append(directory / file)
    return written


def skeleton_main(directory: str, force: bool) -> int:
    """`squall runtime skeleton DIR [--force]`."""
    path = Path(directory)
    try:
        written = write_skeleton(path, force)
    except (SkeletonError, OSError) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    name, image = skeleton_names(path)
    for file in written:
        print(f"wrote {file}")
    print(f"next: docker build -t {image} {path} && squall action create {name} --docker {image} "
          f"&& squall action invoke {name} -r")
    return 0
