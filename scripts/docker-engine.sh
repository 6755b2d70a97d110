#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install Debian's docker.io where Docker is
# missing (root on Debian only), start dockerd in the background, and wait until it answers.
# Settings suit a host without registry access: no pulls are needed (images are built locally).
set -euo pipefail

log() { echo "docker-engine: $*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

# debootstrap builds the runtime image's base where no registry answers (squall runtime build).
if ! command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing debootstrap (to build runtime images without a registry)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
        || log "could not install debootstrap"
fi

if command -v docker >/dev/null 2>&1 && engine_answers; then
    log "the Docker engine answers"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "no Docker engine here, and I can only install one as root on Debian (apt-get)."
        log "Install Docker, start it, and run this again."
        exit 1
    fi
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || log "apt-get update failed; trying the install anyway"
    apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        log "dockerd is not running and I am not root, so I cannot start it."
        exit 1
    fi
    state=${SQUALL_DOCKER_STATE:-/var/lib/squall-dockerd}
    mkdir -p "$state"
    log "starting dockerd in the background (log: $state/dockerd.log)"
    # No registry mirrors, no pulls; the default bridge stays (actions that ask for a network use
    # it); containerd comes from the docker.io package.
    nohup dockerd --host=unix:///var/run/docker.sock --log-level=warn \
        >"$state/dockerd.log" 2>&1 &
fi

for _ in $(seq 1 120); do
    if engine_answers; then
        log "the Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
        exit 0
    fi
    sleep 0.5
done
log "dockerd did not answer within 60 s; its log says:"
tail -n 20 "${SQUALL_DOCKER_STATE:-/var/lib/squall-dockerd}/dockerd.log" >&2 || true
exit 1
