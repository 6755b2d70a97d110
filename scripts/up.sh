#!/usr/bin/env bash
# Install Squall and what it runs on, then start it: Docker isolation where an engine can be had
# (installed and started if need be, runtime image built locally), else local action processes.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e .
if bash scripts/docker-engine.sh && python3 -m backend.server runtime build; then
    :
else
    echo "up.sh: the Docker engine or a runtime image is missing (see above); Squall runs on Docker if" \
         "the python:3 image is there, else as local processes (no isolation)" >&2
fi
exec squall "$@"
