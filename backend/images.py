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

from . import actionproxy, kinds, languages
from .errors import EntityError

PROXY_PATH_IN_IMAGE = "/usr/local/lib/squall/actionproxy.py"
# What a container runs: the proxy compiled when the image is built. Python compiles a script named
# on its command line anew at every start (4 ms of the proxy's 30 in the image); a .pyc named
# there runs as it is, and its tracebacks still show the source above.
PROXY_CODE_IN_IMAGE = PROXY_PATH_IN_IMAGE + "c"
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
 && mkdir -p {lib}/launchers {socket_dir} && chown {uid}:{uid} {socket_dir}
{install}COPY actionproxy.py {proxy}
RUN python3 -c "import py_compile; py_compile.compile('{proxy}', cfile='{proxy_code}', doraise=True)"
COPY launchers/ {lib}/launchers/
ENV PYTHONIOENCODING=utf-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 HOME=/tmp TMPDIR=/tmp
LABEL {label}="{version}" squall.family="{family}"
USER {uid}:{uid}
WORKDIR /tmp
CMD ["python3", "-u", "-s", "{proxy_code}", "--socket", "{socket_dir}/action.sock"]
"""
APT_INSTALL = ("RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
               "--no-install-recommends {packages} >/dev/null && rm -rf /var/lib/apt/lists/*\n")


def image_version(language: languages.Language) -> str:
    """The label an image must carry to be current: the proxy's version, its language's and the
    Dockerfile's."""
    return hashlib.sha256((proxy_version() + language.digest() + DOCKERFILE).encode()).hexdigest()[:16]


def image_is_current(client: "docker.DockerClient", image: str) -> bool:  # type: ignore[name-defined]  # noqa: F821
    import docker.errors

    language = next((lang for lang in languages.LANGUAGES.values() if lang.image == image), None)
    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return False
    return language is not None and labels.get(VERSION_LABEL) == image_version(language)


def families_of(requested: list[str]) -> list[languages.Language]:
    """The languages whose images the kinds (or families) name; every one when none is named."""
    if not requested:
        return list(languages.LANGUAGES.values())
    chosen: list[languages.Language] = []
    for name in requested:
        try:  # a kind, `<family>:default`, or a bare family, as the manifest resolves them
            language = languages.of_kind(kinds.resolve(name))
        except EntityError:
            known = ", ".join(sorted(kinds.images()))
            raise BuildError(f"no runtime image for kind '{name}' (known: {known})") from None
        if language not in chosen:
            chosen.append(language)
    return chosen


def build(requested: list[str] | None = None, *, force: bool = False, say: Say = _say) -> list[str]:
    """Build the images of the kinds asked for (all by default) on one shared base, each unless a
    current one is present; returns their names."""
    import docker

    client = docker.from_env()
    built: list[str] = []
    failed: list[str] = []
    base: str | None = None
    for language in families_of(requested or []):
        image = language.image
        if not force and image_is_current(client, image):
            say(f"{image} is present and current ({image_version(language)})")
            built.append(image)
            continue
        if base is None:
            base = OFFICIAL_BASE if registry_answers(client, say) else debootstrap_base(client, say)
        try:
            built.append(_build_one(client, language, base, say, fresh=force))
        except BuildError as ex:  # the other families' images are still worth having
            say(f"could not build {image}: {ex}")
            failed.append(image)
    if failed:
        raise BuildError(f"not built: {', '.join(failed)} (built or current: {', '.join(built) or 'none'})")
    return built


def _build_one(client: "docker.DockerClient", language: languages.Language, base: str,  # type: ignore[name-defined]  # noqa: F821
               say: Say, *, fresh: bool = False) -> str:
    """One family's image; `fresh` ignores Docker's layer cache (packages installed anew)."""
    import docker.errors

    started = time.monotonic()
    image = language.image
    with tempfile.TemporaryDirectory(prefix="squall-image-") as context:
        root = Path(context)
        shutil.copy(actionproxy.__file__, root / "actionproxy.py")
        (root / "launchers").mkdir()
        for name in language.files:
            target = root / "launchers" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(languages.LAUNCHERS / name, target)
        if language.prepare is not None:
            say(f"  preparing the {language.family} launcher")
            language.prepare(root)
        install = APT_INSTALL.format(packages=" ".join(language.apt_packages)) if language.apt_packages else ""
        (root / "Dockerfile").write_text(DOCKERFILE.format(
            base=base, uid=ACTION_UID, proxy=PROXY_PATH_IN_IMAGE, proxy_code=PROXY_CODE_IN_IMAGE,
            lib=languages.LIB_IN_IMAGE, label=VERSION_LABEL, version=image_version(language),
            family=language.family, socket_dir=SOCKET_DIR, install=install))
        say(f"building {image} from {base}")
        try:
            for chunk in client.api.build(path=context, tag=image, rm=True, forcerm=True, decode=True,
                                          pull=False, nocache=fresh):
                if "stream" in chunk and chunk["stream"].strip().startswith("Step"):
                    say(f"  [{time.monotonic() - started:5.1f}s] " + chunk["stream"].strip()[:110])
                if "error" in chunk:
                    raise BuildError(chunk["error"].strip())
        except docker.errors.APIError as ex:
            raise BuildError(str(ex)) from None
    size = client.images.get(image).attrs.get("Size", 0)
    say(f"built {image} in {time.monotonic() - started:.1f}s ({size / 1e6:.0f} MB)")
    return image


def listing() -> list[dict[str, object]]:
    """Every kind: its family's default, image, size and whether it is built and current."""
    import docker
    import docker.errors

    try:
        client: "docker.DockerClient | None" = docker.from_env(timeout=5)  # type: ignore[name-defined]
        client.ping()
    except Exception:
        client = None
    rows: list[dict[str, object]] = []
    for kind in kinds.MANIFEST:
        if kind.deprecated or kind.image is None:
            continue
        language = languages.of_kind(kind.kind)
        size, state = 0, "no Docker engine"
        if client is not None:
            try:
                size = client.images.get(kind.image).attrs.get("Size", 0)
                state = "built" if image_is_current(client, kind.image) else "stale"
            except docker.errors.ImageNotFound:
                state = "not built"
        missing = language.host_missing()
        rows.append({"kind": kind.kind, "default": kind.default, "image": kind.image, "size": size,
                     "image_state": state,
                     "process": f"no: {missing}" if missing else (language.host_version() or "yes")})
    return rows


def main(argv: list[str]) -> int:
    """`squall runtime build [KIND...] [--force]`, `squall runtime list` and `squall runtime skeleton DIR`."""
    import argparse

    parser = argparse.ArgumentParser(prog="squall runtime", description="the runtime images and kinds")
    sub = parser.add_subparsers(dest="verb", required=True)
    b = sub.add_parser("build", help="build runtime images (every kind's by default), offline")
    b.add_argument("kinds", nargs="*", metavar="KIND")
    b.add_argument("--force", action="store_true",
                   help="rebuild, without Docker's layer cache, even when the image is current")
    sub.add_parser("list", help="kinds, each family's default, image, size and whether it is built")
    c = sub.add_parser("classpath", help="what an action of the family compiles against (java: Gson's jar)")
    c.add_argument("family", choices=["java"])
    s = sub.add_parser("skeleton", help="write a minimal blackbox action to DIR: Dockerfile, handler.py, README.md")
    s.add_argument("directory", metavar="DIR")
    s.add_argument("--force", action="store_true", help="overwrite the files if they exist")
    args = parser.parse_args(argv)
    if args.verb == "classpath":
        from .languages.java import compile_classpath

        print(compile_classpath())
        return 0
    if args.verb == "skeleton":
        from .blackbox import skeleton_main

        return skeleton_main(args.directory, args.force)
    if args.verb == "list":
        rows = listing()
        print(f"{'KIND':<13}{'DEFAULT':<9}{'IMAGE':<34}{'SIZE':>8}  {'IMAGE STATE':<12} PROCESS RUNTIME")
        for row in rows:
            size = f"{int(row['size']) / 1e6:.0f} MB" if row["size"] else "-"
            print(f"{row['kind']:<13}{'yes' if row['default'] else '':<9}{row['image']:<34}{size:>8}  "
                  f"{row['image_state']:<12} {row['process']}")
        return 0
    try:
        build(args.kinds, force=args.force)
    except BuildError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    except Exception as ex:  # the engine is not there, most likely
        print(f"error: could not build the runtime images: {ex}", file=sys.stderr)
        return 1
    return 0
