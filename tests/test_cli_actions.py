"""``squall action ...``: output for answers a real server rarely gives (against a mock API),
then create/update/invoke/get/list/delete against the real server of the ``server`` fixture
(tests/conftest.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from cli_support import HELLO, Run, Tenant, eventually, invoked_id, unique, write_action
from console import cli
from console.cli.names import parse_name, qualify_components
from console.cli.web import action_url, web_annotations


class TestInvokeOutput:
    def test_blocking_invoke_still_running(
        self, mock_api: Callable[..., None], capsys: pytest.CaptureFixture[str]
    ) -> None:
        aid = "1" * 32
        mock_api(lambda r: httpx.Response(202, json={"activationId": aid}))
        assert cli.main(["action", "invoke", "slow", "-b"]) == 0
        out = capsys.readouterr().out
        assert f"ok: invoked /guest/slow, but the request has not yet finished, with id {aid}" in out

    def test_blocking_invoke_502_prints_activation_and_fails(
        self, mock_api: Callable[..., None], capsys: pytest.CaptureFixture[str]
    ) -> None:
        activation = {
            "activationId": "2" * 32, "namespace": "guest", "name": "bad",
            "response": {"status": "application error", "success": False,
                         "result": {"error": "boom"}},
        }
        mock_api(lambda r: httpx.Response(502, json=activation))
        assert cli.main(["action", "invoke", "bad", "-b"]) == 1
        captured = capsys.readouterr()
        assert json.loads(captured.out) == activation
        assert "application error: boom" in captured.err


def test_create_and_invoke_result(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    created = squall("action", "create", name, str(hello_file))
    assert (created.rc, created.out.strip()) == (0, f"ok: created action {name}"), created.err
    run = squall("action", "invoke", name, "--result", "-p", "name", "World")
    assert run.rc == 0, run.err
    assert run.json() == {"greeting": "Hello World"}
    assert run.out.startswith('{\n  "greeting"')  # pretty, indent 2
    run = squall("action", "invoke", name, "-r")
    assert run.json() == {"greeting": "Hello stranger"}


def test_non_blocking_invoke_prints_id(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "invoke", name)
    assert run.rc == 0, run.err
    aid = invoked_id(run.out, name)
    run = eventually(lambda: (r := squall("activation", "result", aid)).rc == 0 and r)
    assert run and run.json() == {"greeting": "Hello stranger"}


def test_update_bumps_version_and_keeps_code(
    squall: Callable[..., Run], hello_file: Path
) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file), "--memory", "128").rc == 0
    doc = squall("action", "get", name).json()
    assert doc["version"] == "0.0.1"
    assert doc["exec"]["kind"] == "python:3" and doc["limits"]["memory"] == 128

    run = squall("action", "update", name, "-p", "name", "Default")
    assert (run.rc, run.out.strip()) == (0, f"ok: updated action {name}"), run.err
    doc = squall("action", "get", name, "--code").json()
    assert doc["version"] == "0.0.2"
    assert doc["exec"]["code"] == HELLO
    assert {"key": "name", "value": "Default"} in doc["parameters"]
    assert squall("action", "invoke", name, "-r").json() == {"greeting": "Hello Default"}

    run = squall("action", "update", name, str(hello_file))
    assert run.rc == 0 and squall("action", "get", name).json()["version"] == "0.0.3"

    listing = squall("action", "list")
    assert listing.rc == 0 and listing.out.splitlines()[0] == "actions"
    row = next(line for line in listing.out.splitlines() if f"/{name} " in line)
    assert "0.0.3" in row and "private" in row and "python:3" in row


def test_create_twice_conflicts(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "create", name, str(hello_file))
    assert run.rc == 1
    assert run.err.startswith("error: ") and "resource already exists" in run.err


def test_get_missing_action(squall: Callable[..., Run]) -> None:
    run = squall("action", "get", unique("missing"))
    assert run.rc == 1
    assert run.err.strip() == "error: The requested resource does not exist."
    assert "Traceback" not in run.err


def test_delete_action(squall: Callable[..., Run], hello_file: Path) -> None:
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file)).rc == 0
    run = squall("action", "delete", name)
    assert (run.rc, run.out.strip()) == (0, f"ok: deleted action {name}")
    assert squall("action", "get", name).rc == 1


def test_zip_action(squall: Callable[..., Run], tmp_path: Path) -> None:
    archive = tmp_path / "action.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("helper.py", "def double(n):\n    return 2 * n\n")
        zf.writestr(
            "__main__.py",
            "from helper import double\n"
            "def main(args):\n"
            '    return {"zipped": True, "double": double(args.get("n", 0))}\n',
        )
    name = unique("zipped")
    run = squall("action", "create", name, str(archive))
    assert run.rc == 0, run.err
    assert squall("action", "get", name).json()["exec"]["binary"] is True
    run = squall("action", "invoke", name, "-r", "-p", "n", "21")
    assert run.rc == 0, run.err
    assert run.json() == {"zipped": True, "double": 42}


def test_param_file(squall: Callable[..., Run], hello_file: Path, tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps({"name": "Default"}))
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"name": "File"}))
    name = unique("hello")
    assert squall("action", "create", name, str(hello_file), "--param-file", str(defaults)).rc == 0
    assert squall("action", "invoke", name, "-r").json() == {"greeting": "Hello Default"}
    run = squall("action", "invoke", name, "-r", "--param-file", str(params))
    assert run.rc == 0 and run.json() == {"greeting": "Hello File"}
    run = squall("action", "invoke", name, "-r", "--param-file", str(params), "-p", "name", "Cli")
    assert run.json() == {"greeting": "Hello Cli"}


def test_failing_action(squall: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "fail.py"
    path.write_text('def main(args):\n    return {"error": "boom"}\n')
    name = unique("fail")
    assert squall("action", "create", name, str(path)).rc == 0
    run = squall("action", "invoke", name, "-r")
    assert run.rc == 1
    assert run.json() == {"error": "boom"}
    run = squall("action", "invoke", name, "-b")
    assert run.rc == 1
    activation = run.json()
    assert activation["response"]["status"] == "application error"
    assert "application error: boom" in run.err




# ============================================================================================
# Sequences and web actions: pure helpers


class TestNames:
    @pytest.mark.parametrize(
        ("components", "expected"),
        [
            ("a", ["/guest/a"]),
            ("a,pkg/b", ["/guest/a", "/guest/pkg/b"]),
            ("/ns/x,/ns/pkg/x", ["/ns/x", "/ns/pkg/x"]),
            ("a, /whisk.system/utils/echo ,b",
             ["/guest/a", "/whisk.system/utils/echo", "/guest/b"]),
        ],
    )
    def test_sequence_components_are_qualified_like_wsk(
        self, components: str, expected: list[str]
    ) -> None:
        assert qualify_components(components, "guest") == expected

    def test_unknown_namespace_stays_underscore(self) -> None:
        assert qualify_components("a,p/b", "_") == ["/_/a", "/_/p/b"]

    def test_empty_component(self) -> None:
        with pytest.raises(cli.CliError, match="empty component"):
            qualify_components("a,,b", "guest")

    @pytest.mark.parametrize(
        ("text", "namespace", "package", "name"),
        [
            ("a", "guest", None, "a"),
            ("p/a", "guest", "p", "a"),
            ("/ns/a", "ns", None, "a"),
            ("/ns/p/a", "ns", "p", "a"),
            ("/ns", "ns", None, ""),
        ],
    )
    def test_parse_name(self, text: str, namespace: str, package: str | None, name: str) -> None:
        parsed = parse_name(text, "guest")
        assert (parsed.namespace, parsed.package, parsed.name) == (namespace, package, name)

    @pytest.mark.parametrize("text", ["a/b/c", "/", "/ns/p/a/b", "p/"])
    def test_bad_names(self, text: str) -> None:
        with pytest.raises(cli.CliError, match="not a valid name"):
            parse_name(text, "guest")


def kv(**values: Any) -> list[dict[str, Any]]:
    return [{"key": k.replace("_", "-"), "value": v} for k, v in values.items()]


def as_dict(annotations: list[dict[str, Any]] | None) -> dict[str, Any]:
    assert annotations is not None
    return {a["key"]: a["value"] for a in annotations}


class TestWebAnnotations:
    @pytest.mark.parametrize(
        ("mode", "expected"),
        [
            ("true", {"web-export": True, "raw-http": False, "final": True}),
            ("yes", {"web-export": True, "raw-http": False, "final": True}),
            ("raw", {"web-export": True, "raw-http": True, "final": True}),
            ("false", {"web-export": False, "raw-http": False, "final": False}),
            ("No", {"web-export": False, "raw-http": False, "final": False}),
        ],
    )
    def test_web_modes_on_create(self, mode: str, expected: dict[str, Any]) -> None:
        assert as_dict(web_annotations(None, None, mode, None)) == expected

    def test_bad_mode(self) -> None:
        with pytest.raises(cli.CliError, match="Invalid argument 'maybe' for --web flag"):
            web_annotations(None, None, "maybe", None)

    def test_given_annotations_stay_and_web_ones_are_replaced(self) -> None:
        given = kv(description="hi", web_export=False)
        assert as_dict(web_annotations(given, None, "true", None)) == {
            "description": "hi", "web-export": True, "raw-http": False, "final": True,
        }

    def test_update_keeps_the_existing_annotations(self) -> None:
        existing = kv(description="old", exec="python:3", require_whisk_auth="s3cret")
        assert as_dict(web_annotations(None, existing, "raw", None)) == {
            "description": "old", "exec": "python:3", "require-whisk-auth": "s3cret",
            "web-export": True, "raw-http": True, "final": True,
        }

    def test_update_with_annotations_replaces_all_but_the_web_ones(self) -> None:
        existing = kv(description="old", web_export=True, raw_http=False, final=True,
                      require_whisk_auth=7)
        result = as_dict(web_annotations(kv(owner="me"), existing, None, "false"))
        assert result == {"owner": "me", "web-export": True, "raw-http": False, "final": True}

    def test_web_secure_values(self) -> None:
        secret = as_dict(web_annotations(None, None, "true", "s3cret"))
        assert secret["require-whisk-auth"] == "s3cret"
        generated = as_dict(web_annotations(None, None, "true", "true", secret=lambda: 42))
        assert generated["require-whisk-auth"] == 42
        assert "require-whisk-auth" not in as_dict(web_annotations(None, None, "true", "false"))

    def test_random_secret_is_an_integer_javascript_reads_exactly(self) -> None:
        value = as_dict(web_annotations(None, None, "true", "true"))["require-whisk-auth"]
        assert isinstance(value, int) and 0 <= value < 2**53

    def test_web_secure_true_keeps_an_existing_numeric_secret(self) -> None:
        existing = kv(web_export=True, require_whisk_auth=1234)
        result = web_annotations(None, existing, None, "true", secret=lambda: 99)
        assert as_dict(result)["require-whisk-auth"] == 1234

    def test_web_secure_on_an_existing_web_action_keeps_everything_else(self) -> None:
        existing = kv(description="d", web_export=True, raw_http=False, final=True)
        assert as_dict(web_annotations(None, existing, None, "abc")) == {
            "description": "d", "web-export": True, "raw-http": False, "final": True,
            "require-whisk-auth": "abc",
        }

    @pytest.mark.parametrize(
        ("existing", "web"), [(None, None), (None, "false"), (kv(web_export=True), "no")]
    )
    def test_web_secure_needs_a_web_action(self, existing: Any, web: str | None) -> None:
        with pytest.raises(cli.CliError, match="only valid when the --web option is enabled"):
            web_annotations(None, existing, web, "s3cret")

    def test_nothing_to_send_without_flags(self) -> None:
        assert web_annotations(None, kv(a=1), None, None) is None


class TestActionUrl:
    def test_web_action_urls(self) -> None:
        web = {"namespace": "guest", "name": "hello", "annotations": kv(web_export=True)}
        assert action_url("http://h:3233/", web) == "http://h:3233/api/v1/web/guest/default/hello"
        packaged = {**web, "namespace": "guest/demo", "name": "hi there"}
        assert action_url("http://h:3233", packaged) == (
            "http://h:3233/api/v1/web/guest/demo/hi%20there"
        )

    def test_other_actions_get_their_rest_url(self) -> None:
        plain = {"namespace": "guest/demo", "name": "a", "annotations": kv(web_export=False)}
        assert action_url("http://h", plain) == "http://h/api/v1/namespaces/guest/actions/demo/a"
        assert action_url("http://h", {"namespace": "guest", "name": "a"}) == (
            "http://h/api/v1/namespaces/guest/actions/a"
        )


# -- the requests the new options make, against a mock API -----------------------------------


class Recorder:
    """A fake API that records requests and answers from a table of (method, path) → response."""

    def __init__(self, answers: dict[tuple[str, str], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answers = answers or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get((request.method, request.url.path))
        if answer is not None:
            return answer
        return httpx.Response(200, json={"namespace": "guest", "name": "x"})

    def bodies(self, method: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.method == method]


class TestActionRequests:
    def test_sequence_create_qualifies_components(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        api = Recorder()
        mock_api(api)
        run = run_cli("action", "create", "seq", "--sequence", "a,pkg/b,/other/c")
        assert (run.rc, run.out.strip()) == (0, "ok: created action seq"), run.err
        (put,) = api.requests
        assert put.url.raw_path == b"/api/v1/namespaces/guest/actions/seq?overwrite=false"
        assert json.loads(put.content) == {
            "exec": {"kind": "sequence", "components": ["/guest/a", "/guest/pkg/b", "/other/c"]}
        }

    def test_sequence_with_a_file_is_refused_before_any_request(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run], hello_file: Path
    ) -> None:
        api = Recorder()
        mock_api(api)
        run = run_cli("action", "create", "seq", str(hello_file), "--sequence", "a,b")
        assert run.rc == 1 and "--sequence" in run.err and api.requests == []

    def test_create_without_code_is_a_usage_error(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        api = Recorder()
        mock_api(api)
        run = run_cli("action", "create", "nothing")
        assert run.rc == 2 and "an action needs code" in run.err and api.requests == []

    def test_create_web_sets_the_annotations(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run], hello_file: Path
    ) -> None:
        api = Recorder()
        mock_api(api)
        assert run_cli("action", "create", "pkg/w", str(hello_file), "--web", "raw").rc == 0
        (put,) = api.requests
        assert put.url.path == "/api/v1/namespaces/guest/actions/pkg/w"
        assert as_dict(json.loads(put.content)["annotations"]) == {
            "web-export": True, "raw-http": True, "final": True,
        }

    def test_update_web_fetches_and_merges(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        existing = {"namespace": "guest", "name": "w",
                    "annotations": kv(description="keep me", exec="python:3")}
        api = Recorder({("GET", "/api/v1/namespaces/guest/actions/w"):
                        httpx.Response(200, json=existing)})
        mock_api(api)
        run = run_cli("action", "update", "w", "--web", "true", "--web-secure", "s3cret")
        assert (run.rc, run.out.strip()) == (0, "ok: updated action w"), run.err
        get, put = api.requests
        assert get.method == "GET" and get.url.params["code"] == "false"
        assert put.url.params["overwrite"] == "true"
        assert as_dict(json.loads(put.content)["annotations"]) == {
            "description": "keep me", "exec": "python:3", "web-export": True,
            "raw-http": False, "final": True, "require-whisk-auth": "s3cret",
        }

    def test_update_web_of_a_missing_action_creates_it(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run], hello_file: Path
    ) -> None:
        missing = httpx.Response(404, json={"error": "The requested resource does not exist."})
        api = Recorder({("GET", "/api/v1/namespaces/guest/actions/new"): missing})
        mock_api(api)
        assert run_cli("action", "update", "new", str(hello_file), "--web", "yes").rc == 0
        assert as_dict(api.bodies("PUT")[0]["annotations"])["web-export"] is True

    def test_plain_update_sends_no_get(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        api = Recorder()
        mock_api(api)
        assert run_cli("action", "update", "a", "-p", "k", "v").rc == 0
        assert [r.method for r in api.requests] == ["PUT"]
        assert api.bodies("PUT") == [{"parameters": [{"key": "k", "value": "v"}]}]

    def test_get_url(self, mock_api: Callable[..., None], run_cli: Callable[..., Run]) -> None:
        doc = {"namespace": "guest/demo", "name": "hello", "annotations": kv(web_export=True)}
        mock_api(Recorder({("GET", "/api/v1/namespaces/guest/actions/demo/hello"):
                           httpx.Response(200, json=doc)}))
        run = run_cli("action", "get", "demo/hello", "--url")
        assert (run.rc, run.out) == (0, "http://squall.test/api/v1/web/guest/demo/hello\n")

    def test_list_a_package(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        listing = [
            {"namespace": "guest/demo", "name": "seq", "version": "0.0.1", "publish": False,
             "exec": {"binary": False}, "annotations": kv(exec="sequence")},
            {"namespace": "guest/demo", "name": "hello", "version": "0.0.2", "publish": True,
             "annotations": kv(exec="python:3")},
        ]
        api = Recorder({
            ("GET", "/api/v1/namespaces/guest/actions/demo/"): httpx.Response(200, json=listing),
            ("GET", "/api/v1/namespaces/other/actions/pkg/"): httpx.Response(200, json=[]),
        })
        mock_api(api)
        run = run_cli("action", "list", "demo")
        assert run.rc == 0, run.err
        lines = run.out.splitlines()
        assert lines[0] == "actions"
        assert lines[1].split()[:4] == ["/guest/demo/seq", "0.0.1", "private", "sequence"]
        assert lines[2].split()[:4] == ["/guest/demo/hello", "0.0.2", "shared", "python:3"]
        assert run_cli("action", "list", "/other/pkg").out == "actions\n"
        assert api.requests[-1].url.raw_path == b"/api/v1/namespaces/other/actions/pkg/?skip=0"


# -- against the real server -----------------------------------------------------------------


def test_sequence_runs_its_components(
    squall: Callable[..., Run], tenant: Tenant, tmp_path: Path
) -> None:
    inc = write_action(tmp_path, "inc", 'return {"n": args.get("n", 0) + 1}')
    dbl = write_action(tmp_path, "dbl", 'return {"n": args["n"] * 2}')
    assert squall("action", "create", "inc", str(inc)).rc == 0
    assert squall("package", "create", "math").rc == 0
    assert squall("action", "create", "math/dbl", str(dbl)).rc == 0
    run = squall("action", "create", "calc", "--sequence", "inc,math/dbl,inc")
    assert (run.rc, run.out.strip()) == (0, "ok: created action calc"), run.err

    doc = squall("action", "get", "calc").json()
    ns = tenant.namespace
    assert doc["exec"]["kind"] == "sequence"
    assert doc["exec"]["components"] == [f"/{ns}/inc", f"/{ns}/math/dbl", f"/{ns}/inc"]
    run = squall("action", "invoke", "calc", "-r", "-p", "n", "1")
    assert run.rc == 0, run.err
    assert run.json() == {"n": 5}

    listing = squall("action", "list")
    row = next(line for line in listing.out.splitlines() if line.startswith(f"/{ns}/calc "))
    assert "sequence" in row.split()
    run = squall("action", "list", "math")
    assert run.rc == 0, run.err
    assert [line.split()[0] for line in run.out.splitlines()[1:]] == [f"/{ns}/math/dbl"]


def test_sequence_update_and_missing_component(
    squall: Callable[..., Run], tenant: Tenant, hello_file: Path
) -> None:
    assert squall("action", "create", "hello", str(hello_file)).rc == 0
    run = squall("action", "create", "broken", "--sequence", "hello,nope")
    assert run.rc == 1 and run.err.strip() == "error: Sequence component does not exist."
    assert squall("action", "create", "twice", "--sequence", "hello").rc == 0
    run = squall("action", "update", "twice", "--sequence", "hello,hello")
    assert run.rc == 0, run.err
    assert len(squall("action", "get", "twice").json()["exec"]["components"]) == 2


def test_web_action_url_and_annotations(
    squall: Callable[..., Run], tenant: Tenant, server: Any, hello_file: Path
) -> None:
    run = squall("action", "create", "page", str(hello_file), "--web", "true",
                 "-a", "description", "a greeting")
    assert (run.rc, run.out.strip()) == (0, "ok: created action page"), run.err
    annotations = as_dict(squall("action", "get", "page").json()["annotations"])
    assert annotations["web-export"] is True and annotations["final"] is True
    assert annotations["raw-http"] is False and annotations["description"] == "a greeting"

    run = squall("action", "get", "page", "--url")
    url = f"{server.apihost}/api/v1/web/{tenant.namespace}/default/page"
    assert (run.rc, run.out.strip()) == (0, url), run.err
    answer = httpx.get(url + ".json", params={"name": "Web"}, timeout=70)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"greeting": "Hello Web"}

    # --web-secure on update keeps the other annotations (the CLI fetches and merges).
    assert squall("action", "update", "page", "--web-secure", "s3cret").rc == 0
    annotations = as_dict(squall("action", "get", "page").json()["annotations"])
    assert annotations["require-whisk-auth"] == "s3cret"
    assert annotations["description"] == "a greeting" and annotations["web-export"] is True
    assert httpx.get(url + ".json", timeout=70).status_code == 401
    answer = httpx.get(url + ".json", headers={"X-Require-Whisk-Auth": "s3cret"}, timeout=70)
    assert answer.status_code == 200, answer.text

    assert squall("action", "update", "page", "--web", "false").rc == 0
    annotations = as_dict(squall("action", "get", "page").json()["annotations"])
    assert annotations["web-export"] is False and annotations["description"] == "a greeting"
    assert squall("action", "get", "page", "--url").out.strip() == (
        f"{server.apihost}/api/v1/namespaces/{tenant.namespace}/actions/page"
    )
    assert httpx.get(url + ".json", timeout=70).status_code == 404


def test_packaged_web_action_url(
    squall: Callable[..., Run], tenant: Tenant, server: Any, hello_file: Path
) -> None:
    assert squall("package", "create", "site").rc == 0
    assert squall("action", "create", "site/hi", str(hello_file), "--web", "yes").rc == 0
    run = squall("action", "get", "site/hi", "--url")
    assert run.out.strip() == f"{server.apihost}/api/v1/web/{tenant.namespace}/site/hi"
    answer = httpx.get(run.out.strip() + ".json", timeout=70)
    assert answer.status_code == 200 and answer.json() == {"greeting": "Hello stranger"}
