"""Runtime images, built on this machine: no container registry is needed.

`FROM` an official Python image when a registry answers; otherwise from a Debian root filesystem
made with debootstrap from this machine's own apt sources, imported into Docker. The action proxy
is baked in and the image carries its version as a label, so a stale image is rebuilt and a
current one is left alone.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable

from . import actionproxy, kinds

PROXY_PATH_IN_IMAGE = "/usr/local/lib/squall/actionproxy.py"
ACTION_UID = 1000
VERSION_LABEL = "squall.proxy-version"
OFFICIAL_BASE = "python:3.11-slim"
SOCKET_DIR = "/squall"




def proxy_version() -> str:
    """The label an image must carry to be current: a digest of the proxy it runs."""
    return hashlib.sha256(Path(actionproxy.__file__).read_bytes()).hexdigest()[:16]


class BuildError(Exception):
    pass


Say = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def image_is_current(client: "docker.DockerClient", image: str) -> bool:  # type: ignore[name-defined]  # noqa: F821
    import docker.errors

    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return False
    return labels.get(VERSION_LABEL) == proxy_version()


# --- where the base comes from ---------------------------------------------------------------------


def apt_source(sources_dir: Path = Path("/etc/apt")) -> tuple[str, str]:
    """This machine's Debian mirror and release, read from its apt sources (deb822 or one-line)."""
    release = _os_codename()
    candidates: list[tuple[str, list[str]]] = []
    for path in sorted((sources_dir / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                (m.group(1).lower(), m.group(2).strip())
                for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                candidates.append((uri, fields.get("suites", "").split()))
    one_line = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m:
                candidates.append((m.group(1), [m.group(2)]))
    for uri, suites in candidates:
        if release in suites:
            return uri, release
    raise BuildError(f"no apt source for the Debian release '{release}' in {sources_dir}; "
                     "debootstrap needs one to build the runtime image without a registry")


def _os_codename() -> str:
    text = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.M)
    if not m:
        raise BuildError("this is not a Debian system (no VERSION_CODENAME in /etc/os-release)")
    return m.group(1)


def registry_answers(client: "docker.DockerClient", say: Say) -> bool:  # type: ignore[name-defined]  # noqa: F821
    import docker.errors

    try:
        client.images.get(OFFICIAL_BASE)
        return True
    except docker.errors.ImageNotFound:
        pass
    say(f"trying to pull {OFFICIAL_BASE}")
    try:
        client.images.pull(OFFICIAL_BASE)
        return True
    except docker.errors.APIError as ex:
        say(f"no registry answers ({str(ex).splitlines()[0][:120]}); building the base with debootstrap")
        return False


def debootstrap_base(client: "docker.DockerClient", say: Say) -> str:  # type: ignore[name-defined]  # noqa: F821
    """A minimal Debian with python3, imported as an image; made once and reused."""
    import docker.errors

    mirror, release = apt_source()
    tag = f"squall/debian-python3-base:{release}"
    try:
        client.images.get(tag)
        say(f"base image {tag} is present")
        return tag
    except docker.errors.ImageNotFound:
        pass
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is missing: apt-get install debootstrap (or run scripts/runtime-image.sh)")
    root = Path(tempfile.mkdtemp(prefix="squall-rootfs-"))
    try:
        say(f"debootstrap {release} from {mirror} (minbase + python3); this takes about a minute")
        started = time.monotonic()
        process = subprocess.Popen(
            ["debootstrap", "--variant=minbase", "--include=python3", release, str(root), mirror],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        phase, count = "", 0
        for line in process.stdout:
            m = re.match(r"I: (\w+)", line)
            if line.startswith(("E: ", "W: ")):
                say(f"  {line.strip()}")
            if not m:
                continue
            step = "downloading" if m.group(1) in ("Retrieving", "Validating", "Checking", "Found",
                                                   "Chosen", "Resolving") else m.group(1).lower()
            if step != phase:
                if phase:
                    say(f"  [{time.monotonic() - started:5.1f}s] {phase} {count} done")
                phase, count = step, 0
            count += 1
        if process.wait() != 0:
            raise BuildError("debootstrap failed (see the lines above)")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                     "usr/share/locale"):
            shutil.rmtree(root / junk, ignore_errors=True)
        say(f"importing the root filesystem as {tag}")
        archive_path = root.with_suffix(".tar")
        with tarfile.open(archive_path, mode="w") as archive:
            archive.add(root, arcname=".")
        try:
            client.api.import_image_from_file(str(archive_path), repository=tag.split(":")[0], tag=release)
        finally:
            archive_path.unlink(missing_ok=True)
        return tag
    finally:
        shutil.rmtree(root, ignore_errors=True)


DOCKERFILE = """\
FROM {base}
RUN (getent group {uid} || groupadd -g {uid} action) \\
 && (getent passwd {uid} || useradd -u {uid} -g {uid} -M -d /tmp -s /usr/sbin/nologin action) \\
 && mkdir -p /usr/local/lib/squall {socket_dir} && chown {uid}:{uid} {socket_dir}
COPY actionproxy.py {proxy}
ENV PYTHONIOENCODING=utf-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 HOME=/tmp TMPDIR=/tmp
LABEL {label}="{version}" squall.kind="{kind}"
USER {uid}:{uid}
WORKDIR /tmp
CMD ["python3", "-u", "-s", "{proxy}", "--socket", "{socket_dir}/action.sock"]
"""


def build(kind: str = "python:3", *, force: bool = False, say: Say = _say) -> str:
    """Build the runtime image of `kind` unless a current one is present; returns its name."""
    import docker
    import docker.errors

    known = kinds.images()
    if kind not in known:
        raise BuildError(f"no runtime image for kind '{kind}' (known: {', '.join(known)})")
    image = known[kind]
    client = docker.from_env()
    if not force and image_is_current(client, image):
        say(f"{image} is present and current (proxy {proxy_version()})")
        return image
    started = time.monotonic()
    base = OFFICIAL_BASE if registry_answers(client, say) else debootstrap_base(client, say)
    with tempfile.TemporaryDirectory(prefix="squall-image-") as context:
        shutil.copy(actionproxy.__file__, Path(context) / "actionproxy.py")
        (Path(context) / "Dockerfile").write_text(DOCKERFILE.format(
            base=base, uid=ACTION_UID, proxy=PROXY_PATH_IN_IMAGE, label=VERSION_LABEL,
            version=proxy_version(), kind=kind, socket_dir=SOCKET_DIR))
        say(f"building {image} from {base}")
        try:
            for chunk in client.api.build(path=context, tag=image, rm=True, forcerm=True, decode=True,
                                          pull=False):
                if "stream" in chunk and chunk["stream"].strip().startswith("Step"):
                    say("  " + chunk["stream"].strip())
                if "error" in chunk:
                    raise BuildError(chunk["error"].strip())
        except docker.errors.APIError as ex:
            raise BuildError(str(ex)) from None
    say(f"built {image} in {time.monotonic() - started:.1f}s (proxy {proxy_version()})")
    return image


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="squall runtime build",
                                     description="build a runtime image with the action proxy baked in")
    parser.add_argument("kind", nargs="?", default="python:3")
    parser.add_argument("--force", action="store_true", help="rebuild even when the image is current")
    args = parser.parse_args(argv)
    try:
        build(args.kind, force=args.force)
    except BuildError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    except Exception as ex:  # the engine is not there, most likely
        print(f"error: could not build the runtime image: {ex}", file=sys.stderr)
        return 1
    return 0
