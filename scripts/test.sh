#!/usr/bin/env bash
# Install what the test suite needs and run all of it. Extra arguments go to pytest.
# The Docker tests need the engine and the runtime image; in CI their absence fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# The console's real-terminal test drives it under tmux.
if ! command -v tmux >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq tmux >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq tmux >/dev/null; }
fi
if bash scripts/docker-engine.sh && python3 -m backend.server runtime build; then
    :
elif [ -n "${CI:-}" ]; then
    echo "test.sh: the Docker engine and runtime image are required in CI" >&2
    exit 1
else
    echo "test.sh: no Docker runtime here; its tests will be skipped" >&2
fi
# Apache Kafka's jars for the Kafka tests' broker (from Maven Central, cached after the first run).
python3 scripts/kafka_broker.py fetch >/dev/null
exec python3 -m pytest -q "$@"
