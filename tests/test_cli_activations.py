"""``squall activation ...``: row formatting without a server, then list/get/result/logs
against the real server of the ``server`` fixture (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from cli_support import Run, eventually, invoked_id, unique
from console import cli


class TestFormatting:
    def test_activation_row_cold_and_summary_status(self) -> None:
        row = cli.activation_row(
            {
                "activationId": "a" * 32, "namespace": "guest", "name": "hello",
                "version": "0.0.2", "start": 1_700_000_000_000, "duration": 12,
                "statusCode": 1,
                "annotations": [
                    {"key": "path", "value": "guest/hello"},
                    {"key": "kind", "value": "python:3"},
                    {"key": "initTime", "value": 40},
                ],
            }
        )
        assert row[1:] == [
            "a" * 32, "python:3", "cold", "12ms", "application error", "guest/hello:0.0.2"
        ]

    def test_activation_row_warm_full_record(self) -> None:
        row = cli.activation_row(
            {"activationId": "b" * 32, "namespace": "guest", "name": "hello", "duration": 3,
             "response": {"status": "success"}, "annotations": []}
        )
        assert row[3:] == ["warm", "3ms", "success", "guest/hello"]



def test_activation_list_get_result_and_logs(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "invoke", name, "--blocking", "-p", "name", "Logs")
    assert run.rc == 0, run.err
    aid = invoked_id(run.out, name)
    activation = json.loads(run.out.split("\n", 1)[1])
    assert activation["activationId"] == aid
    assert activation["response"]["result"] == {"greeting": "Hello Logs"}

    def listed() -> Run | None:
        run = squall("activation", "list", name)
        return run if aid in run.out else None

    run = eventually(listed)
    assert run, "activation never showed in `activation list`"
    lines = run.out.splitlines()
    assert lines[0] == "activations"
    assert lines[1].split()[:3] == ["Datetime", "Activation", "ID"]
    row = next(line for line in lines if aid in line)
    assert "python:3" in row and "success" in row and f"/{name}:0.0.1" in row
    assert " cold " in row or " warm " in row

    run = squall("activation", "logs", aid)
    assert run.rc == 0, run.err
    assert any(line.endswith("stdout: hi") for line in run.out.splitlines()), run.out
    assert squall("activation", "logs", aid, "--strip").out.splitlines() == ["hi"]

    run = squall("activation", "result", aid)
    assert run.rc == 0 and run.json() == {"greeting": "Hello Logs"}
    run = squall("activation", "get", aid)
    assert run.rc == 0 and run.json()["activationId"] == aid
    run = squall("activation", "get", "--last", name)
    assert run.rc == 0 and run.json()["activationId"] == aid


