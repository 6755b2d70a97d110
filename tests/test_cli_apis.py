"""``squall api ...``: the createApi document and wsk's list rendering without a server, the exact
requests to ``whisk.system/apimgmt`` against a mock API, then routes on the real server of the
``server`` fixture (tests/conftest.py), in a namespace of the test's own (``tenant``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from cli_support import Run, Tenant
from console import cli
from console.cli.apis import build_apidoc, render_api_list

APIMGMT = "/api/v1/web/whisk.system/apimgmt"


# ============================================================================================
# No server needed


class TestApidoc:
    def test_three_arguments_use_base_path_slash(self) -> None:
        apidoc, action = build_apidoc(["/world", "get", "hello"], None, "json", "_",
                                      "http://172.17.0.1:3233", "u:k")
        assert apidoc == {
            "namespace": "_",
            "gatewayBasePath": "/",
            "gatewayPath": "/world",
            "gatewayMethod": "GET",
            "id": "API:_:/",
            "action": {
                "name": "hello",
                "namespace": "_",
                "backendMethod": "GET",
                "backendUrl": "http://172.17.0.1:3233/api/v1/web/_/default/hello.http",
                "authkey": "u:k",
            },
        }
        assert action.path == "/_/hello"

    def test_base_path_and_packaged_action_of_another_namespace(self) -> None:
        apidoc, action = build_apidoc(["/hello", "/world", "post", "/other/pkg/act"], "Greeter",
                                      "json", "guest", "squall.example", "u:k")
        assert apidoc["gatewayBasePath"] == "/hello" and apidoc["id"] == "API:guest:/hello"
        assert apidoc["apiName"] == "Greeter" and apidoc["namespace"] == "guest"
        assert apidoc["action"] == {
            "name": "pkg/act", "namespace": "other", "backendMethod": "POST",
            "backendUrl": "https://squall.example/api/v1/web/other/pkg/act.http", "authkey": "u:k",
        }
        assert action.path == "/other/pkg/act"

    def test_a_first_argument_without_slash_names_the_api(self) -> None:
        apidoc, _ = build_apidoc(["books", "/list", "get", "a"], None, "json", "guest", "h", "u:k")
        assert apidoc["gatewayBasePath"] == "books" and "id" not in apidoc
        with pytest.raises(cli.CliError, match="An API name can only be specified once."):
            build_apidoc(["books", "/list", "get", "a"], "Books", "json", "guest", "h", "u:k")

    def test_path_parameters_need_http(self) -> None:
        args = ["/club", "/books/{isbn}/{isbn}", "get", "a"]
        with pytest.raises(cli.CliError, match="A response type of 'http' is required"):
            build_apidoc(args, None, "json", "guest", "h", "u:k")
        apidoc, _ = build_apidoc(args, None, "http", "guest", "h", "u:k")
        assert apidoc["pathParameters"] == [
            {"name": "isbn", "in": "path", "description": "Default description for 'isbn'",
             "required": True, "type": "string"}
        ]
        with pytest.raises(cli.CliError, match="The base path '/{x}' cannot have parameters."):
            build_apidoc(["/{x}", "/a", "get", "a"], None, "http", "guest", "h", "u:k")

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["world", "get", "a"], "'world' must begin with '/'."),
            (["/world", "fetch", "a"], "'fetch' is not a valid API verb.  Valid values are: [GET"),
            (["/world", "get"], "give [BASE_PATH] API_PATH API_VERB ACTION"),
        ],
    )
    def test_usage_errors(self, args: list[str], message: str) -> None:
        with pytest.raises(cli.UsageError) as info:
            build_apidoc(args, None, "json", "guest", "h", "u:k")
        assert str(info.value).startswith(message)


def route(namespace: str, action: str, package: str = "") -> dict[str, Any]:
    return {"operationId": "x", "x-openwhisk": {"namespace": namespace, "package": package,
                                                "action": action, "url": "u"}}


APIS: list[dict[str, Any]] = [
    {"id": "Not Used", "key": "Not Used", "value": {
        "gwApiUrl": "http://h/api/u1/hello/",
        "apidoc": {"info": {"title": "/hello"}, "basePath": "/hello", "paths": {
            "/world": {"get": route("guest", "hello"), "post": route("guest", "a", "p")},
        }},
    }},
    {"id": "Not Used", "key": "Not Used", "value": {
        "gwApiUrl": "http://h/api/u1/club",
        "apidoc": {"info": {"title": "Book Club"}, "basePath": "/club", "paths": {
            "/books/{isbn}": {"get": route("guest", "books")},
            "/raw": {"put": {"operationId": "putRaw"}},
        }},
    }},
]


class TestApiList:
    def test_columns_fit_the_rows(self) -> None:
        assert render_api_list(APIS) == [
            "ok: APIs",
            "Action          Verb   API Name  URL",
            "/guest/hello     get     /hello  http://h/api/u1/hello/world",
            "/guest/p/a      post     /hello  http://h/api/u1/hello/world",
            "/guest/books     get  Book Club  http://h/api/u1/club/books/{isbn}",
            "                 put  Book Club  http://h/api/u1/club/raw",
        ]

    def test_filters_by_path_and_verb(self) -> None:
        lines = render_api_list(APIS, "/world", "POST")
        assert lines[2:] == ["/guest/p/a    post    /hello  http://h/api/u1/hello/world"]

    def test_long_names_are_cut(self) -> None:
        value = {"gwApiUrl": "http://h/api/u", "apidoc": {
            "info": {"title": "T" * 35},
            "paths": {"/x": {"get": route("n" * 50, "a")}},
        }}
        header, row = render_api_list([{"value": value}])[1:]
        assert header == "Action".ljust(40) + "    Verb " + "API Name".rjust(31) + "  URL"
        assert row == ("/" + "n" * 39) + "     get " + " " + "T" * 30 + "  http://h/api/u/x"

    def test_empty_list_prints_the_default_header(self) -> None:
        assert render_api_list([]) == [
            "ok: APIs", "Action".ljust(30) + "    Verb " + "API Name".rjust(20) + "  URL"
        ]


# -- the requests, against a mock API ----------------------------------------------------------


WEB_HELLO = {
    "namespace": "guest", "name": "hello",
    "annotations": [
        {"key": "web-export", "value": True}, {"key": "require-whisk-auth", "value": "s3"}
    ],
}


class FakeGateway:
    """Answers the action fetch and the apimgmt web actions; records every request."""

    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.startswith("/api/v1/namespaces/"):
            name = request.url.path.rsplit("/", 1)[1]
            doc = WEB_HELLO if name == "hello" else {"namespace": "guest", "name": name}
            return httpx.Response(200, json=doc)
        if self.answer is not None:
            return self.answer
        if request.url.path.endswith("/createApi.http"):
            return httpx.Response(200, json={"gwApiUrl": "http://squall.test/api/u/hello"})
        if request.url.path.endswith("/getApi.http"):
            return httpx.Response(200, json={"apis": APIS[:1]})
        return httpx.Response(200, json={})

    def gateway_calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith(APIMGMT)]


class TestRequests:
    def test_create(self, mock_api: Callable[..., None], run_cli: Callable[..., Run]) -> None:
        gateway = FakeGateway()
        mock_api(gateway)
        run = run_cli(
            "api", "create", "/hello", "/world", "get", "hello", "--response-type", "http"
        )
        assert run.rc == 0, run.err
        assert run.out.splitlines() == [
            "ok: created API /hello/world GET for action /guest/hello",
            "http://squall.test/api/u/hello/world",
        ]
        fetch, create = gateway.requests
        assert fetch.url.path == "/api/v1/namespaces/guest/actions/hello"
        assert create.method == "POST" and create.url.path == f"{APIMGMT}/createApi.http"
        assert dict(create.url.params) == {
            "responsetype": "http", "accesstoken": "DUMMY TOKEN", "spaceguid": "u"
        }
        assert create.headers["authorization"] == "Basic " + base64.b64encode(b"u:k").decode()
        assert json.loads(create.content) == {"apidoc": {
            "namespace": "guest", "gatewayBasePath": "/hello", "gatewayPath": "/world",
            "gatewayMethod": "GET", "id": "API:guest:/hello",
            "action": {"name": "hello", "namespace": "guest", "backendMethod": "GET",
                       "backendUrl": "http://squall.test/api/v1/web/guest/default/hello.http",
                       "authkey": "u:k", "secureKey": "s3"},
        }}

    def test_create_refuses_an_action_that_is_not_a_web_action(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        gateway = FakeGateway()
        mock_api(gateway)
        run = run_cli("api", "create", "/world", "get", "plain")
        assert run.rc == 1 and gateway.gateway_calls() == []
        assert run.err.strip() == (
            "error: Action '/guest/plain' is not a web action. Issue 'squall action update "
            "\"/guest/plain\" --web true' to convert the action to a web action."
        )

    def test_gateway_errors_are_prefixed_like_wsk(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        mock_api(FakeGateway(httpx.Response(502, json={"error": "apidoc is required."})))
        run = run_cli("api", "create", "/world", "get", "hello")
        assert (run.rc, run.err.strip()) == (1, "error: Unable to create API: apidoc is required.")
        run = run_cli("api", "delete", "/nope")
        assert run.err.strip() == "error: Unable to delete API: apidoc is required."
        run = run_cli("api", "list")
        assert run.err.strip() == "error: Unable to obtain the API list: apidoc is required."

    def test_token_from_wskprops(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run], tmp_path: Path
    ) -> None:
        (tmp_path / "wskprops").write_text(
            "APIHOST=squall.test\nAUTH=u:k\nNAMESPACE=guest\nAPIGW_ACCESS_TOKEN=t0k\n"
        )
        gateway = FakeGateway()
        mock_api(gateway)
        assert run_cli("api", "list").rc == 0
        (listing,) = gateway.gateway_calls()
        assert dict(listing.url.params) == {
            "limit": "30", "skip": "0", "accesstoken": "t0k", "spaceguid": "u"
        }

    def test_list_get_and_delete(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        gateway = FakeGateway()
        mock_api(gateway)
        run = run_cli("api", "list", "/hello", "/world", "get")
        assert run.out.splitlines()[2:] == [
            "/guest/hello     get    /hello  http://h/api/u1/hello/world"
        ]
        run = run_cli("api", "get", "/hello")
        assert run.rc == 0 and run.json() == APIS[0]["value"]["apidoc"]
        assert run_cli("api", "get", "/hello", "--full").json() == APIS[0]["value"]
        assert run_cli("api", "delete", "/hello").out == "ok: deleted API /hello\n"
        assert run_cli("api", "delete", "/hello", "/world").out == (
            "ok: deleted /world from /hello\n"
        )
        assert run_cli("api", "delete", "/hello", "/world", "post").out == (
            "ok: deleted /world POST from /hello\n"
        )
        listed, got, full, *deletes = gateway.gateway_calls()
        assert dict(listed.url.params) == {
            "basepath": "/hello", "relpath": "/world", "operation": "GET",
            "accesstoken": "DUMMY TOKEN", "spaceguid": "u",
        }
        assert got.url.params["basepath"] == "/hello" and "limit" not in got.url.params
        assert [r.method for r in deletes] == ["DELETE"] * 3
        assert [dict(r.url.params).get("operation") for r in deletes] == [None, None, "POST"]
        assert deletes[1].url.params["relpath"] == "/world"

    def test_get_of_a_missing_api(
        self, mock_api: Callable[..., None], run_cli: Callable[..., Run]
    ) -> None:
        mock_api(FakeGateway(httpx.Response(200, json={"apis": []})))
        run = run_cli("api", "get", "/nope")
        assert (run.rc, run.err.strip()) == (1, "error: API does not exist for basepath /nope")


# ============================================================================================
# Against a real server


def test_route_to_a_web_action(
    squall: Callable[..., Run], tenant: Tenant, server: Any, tmp_path: Path
) -> None:
    code = tmp_path / "greet.py"
    code.write_text('def main(args):\n    return {"hello": args.get("name", "world")}\n')
    assert squall("action", "create", "greet", str(code), "--web", "true").rc == 0
    uuid = tenant.auth.split(":")[0]
    ns = tenant.namespace

    run = squall("api", "create", "/hello", "/world", "get", "greet", "-n", "Greetings")
    assert run.rc == 0, run.err
    url = f"{server.apihost}/api/{uuid}/hello/world"
    assert run.out.splitlines() == [f"ok: created API /hello/world GET for action /{ns}/greet", url]
    answer = httpx.get(url, params={"name": "route"}, timeout=70)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"hello": "route"}

    run = squall("api", "list")
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "ok: APIs" and lines[1].split() == ["Action", "Verb", "API", "Name", "URL"]
    assert [line.split() for line in lines[2:]] == [[f"/{ns}/greet", "get", "Greetings", url]]

    swagger = squall("api", "get", "/hello").json()
    assert swagger["basePath"] == "/hello" and swagger["info"]["title"] == "Greetings"
    assert swagger["paths"]["/world"]["get"]["x-openwhisk"]["action"] == "greet"

    run = squall("api", "delete", "/hello", "/world", "get")
    assert (run.rc, run.out.strip()) == (0, "ok: deleted /world GET from /hello"), run.err
    assert squall("api", "list").out.splitlines()[2:] == []
    run = squall("api", "get", "/hello")
    assert (run.rc, run.err.strip()) == (1, "error: API does not exist for basepath /hello")


def test_api_errors_from_the_server(
    squall: Callable[..., Run], tenant: Tenant, hello_file: Path
) -> None:
    assert squall("action", "create", "plain", str(hello_file)).rc == 0
    run = squall("api", "create", "/a", "get", "plain")
    assert run.rc == 1 and f"Action '/{tenant.namespace}/plain' is not a web action." in run.err
    run = squall("api", "create", "/a", "get", "missing")
    assert run.rc == 1 and run.err.startswith(
        f"error: Unable to get action '/{tenant.namespace}/missing': "
    )
    run = squall("api", "delete", "/nope")
    assert (run.rc, run.err.strip()) == (
        1, "error: Unable to delete API: API deletion failure: API '/nope' does not exist."
    )
