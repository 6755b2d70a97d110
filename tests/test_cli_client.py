"""The API client (console/client/) and wskprops parsing, without a server: request shapes
against ``httpx.MockTransport``, errors, and both the sync and the async client."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from cli_support import free_port, mock_client
from console.client import (
    ApiClient,
    ApiError,
    AsyncApiClient,
    Invocation,
    SquallUnreachable,
    load_wskprops,
    normalize_apihost,
    squall_home,
)


class TestWskprops:
    def test_parses_keys_and_ignores_comments_and_blanks(self, tmp_path: Path) -> None:
        path = tmp_path / "wskprops"
        path.write_text(
            "# Squall credentials\n"
            "\n"
            "APIHOST=http://localhost:3233\n"
            "  AUTH = 23bc46b1-71f6-4ed5-8c54-816aa4f8c502:abc=def  \n"
            "   # indented comment\n"
            "NAMESPACE=guest\n"
            "not a setting\n"
        )
        props = load_wskprops(path)
        assert props.apihost == "http://localhost:3233"
        # Only the first '=' splits, so a value may contain '='.
        assert props.auth == "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:abc=def"
        assert props.namespace == "guest"

    def test_missing_keys_are_none_and_quotes_are_stripped(self, tmp_path: Path) -> None:
        path = tmp_path / "wskprops"
        path.write_text('apihost="localhost:3233"\n')
        props = load_wskprops(path)
        assert props.apihost == "localhost:3233"
        assert props.auth is None and props.namespace is None

    def test_missing_file_raises(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            load_wskprops(tmp_path / "nope")

    def test_squall_home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SQUALL_HOME", str(tmp_path))
        assert squall_home() == tmp_path
        monkeypatch.delenv("SQUALL_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert squall_home() == tmp_path / "home" / ".squall"

    def test_normalize_apihost(self) -> None:
        assert normalize_apihost("localhost:3233") == "http://localhost:3233"
        assert normalize_apihost("https://squall.example/") == "https://squall.example"



class TestClient:
    def test_request_shape(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"name": "my action"})

        with mock_client(handler, namespace="guest") as client:
            client.put_action("my action", {"exec": {"kind": "python:3"}}, overwrite=True)
            client.get_action("/other/pkg/a", code=False)
        put, get = seen
        assert put.method == "PUT"
        assert put.url.scheme == "http" and put.url.host == "squall.test"
        assert put.url.raw_path == b"/api/v1/namespaces/guest/actions/my%20action?overwrite=true"
        assert json.loads(put.content) == {"exec": {"kind": "python:3"}}
        expected = "Basic " + base64.b64encode(b"user:secret").decode()
        assert put.headers["authorization"] == expected
        assert get.url.raw_path == b"/api/v1/namespaces/other/actions/pkg/a?code=false"

    def test_info_sends_no_auth(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            assert "authorization" not in request.headers
            return httpx.Response(200, json={"api_version": "1.0.0"})

        assert mock_client(handler).info() == {"api_version": "1.0.0"}

    def test_error_body(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                404, json={"error": "The requested resource does not exist.", "code": "x1"}
            )

        with pytest.raises(ApiError) as info:
            mock_client(handler).get_action("nope")
        assert info.value.status == 404
        assert info.value.message == "The requested resource does not exist."
        assert info.value.body["code"] == "x1"

    def test_error_without_json_falls_back_to_text(self) -> None:
        client = mock_client(lambda r: httpx.Response(503, text="no invoker"))
        with pytest.raises(ApiError, match="no invoker"):
            client.limits()

    def test_invoke_502_and_202_return_normally(self) -> None:
        aid = "c" * 32
        answers = iter(
            [
                httpx.Response(
                    502,
                    json={"activationId": aid, "response": {"status": "application error"}},
                    headers={"x-openwhisk-activation-id": aid},
                ),
                httpx.Response(202, json={"activationId": aid}),
            ]
        )
        client = mock_client(lambda r: next(answers))
        failed = client.invoke("a", {"x": 1}, blocking=True)
        assert isinstance(failed, tuple) and failed.status == 502 and failed.activation_id == aid
        pending = client.invoke("a")
        assert pending == Invocation(202, {"activationId": aid}, None) and pending.id == aid

    def test_invoke_500_error_body_raises(self) -> None:
        client = mock_client(
            lambda r: httpx.Response(500, json={"error": "boom", "code": "c"},
                                     headers={"x-openwhisk-activation-id": "d" * 32})
        )
        with pytest.raises(ApiError, match="boom"):
            client.invoke("a", blocking=True)

    def test_admin_paths(self) -> None:
        seen: list[tuple[str, str, bytes]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append((request.method, request.url.path, request.content))
            return httpx.Response(200, json={})

        client = mock_client(handler)
        client.system_status()
        client.create_namespace("team")
        client.set_limits("team", invocationsPerMinute=5, concurrentInvocations=2)
        client.cancel_activation("e" * 32)
        client.remove_container("abc")
        assert [s[:2] for s in seen] == [
            ("GET", "/api/v1/system/status"),
            ("PUT", "/api/v1/system/namespaces/team"),
            ("PUT", "/api/v1/system/namespaces/team/limits"),
            ("DELETE", "/api/v1/system/activations/" + "e" * 32),
            ("DELETE", "/api/v1/system/containers/abc"),
        ]
        assert json.loads(seen[2][2]) == {"invocationsPerMinute": 5, "concurrentInvocations": 2}

    def test_activation_queries(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.path.endswith("/logs"):
                return httpx.Response(200, json={"logs": ["t stdout: hi"]})
            return httpx.Response(200, json=[])

        client = mock_client(handler)
        assert client.list_activations("hello", limit=5, since=10, upto=20, docs=True) == []
        assert client.activation_logs("f" * 32) == ["t stdout: hi"]
        assert dict(seen[0].url.params) == {
            "limit": "5", "skip": "0", "name": "hello", "since": "10", "upto": "20", "docs": "true"
        }

    def test_connection_refused(self) -> None:
        client = ApiClient(f"127.0.0.1:{free_port()}", "a:b")
        with pytest.raises(SquallUnreachable, match="squall up"):
            client.namespaces()

    @pytest.mark.asyncio
    async def test_async_client_shares_the_endpoints(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                return httpx.Response(
                    502, json={"activationId": "a" * 32},
                    headers={"x-openwhisk-activation-id": "a" * 32},
                )
            return httpx.Response(404, json={"error": "The requested resource does not exist."})

        async with AsyncApiClient(
            "http://squall.test", "u:k", transport=httpx.MockTransport(handler)
        ) as client:
            invocation = await client.invoke("a", blocking=True)
            assert invocation.status == 502 and invocation.id == "a" * 32
            with pytest.raises(ApiError) as info:
                await client.get_activation("b" * 32)
            assert info.value.status == 404




class TestPackageAndGatewayEndpoints:
    def test_package_paths(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json=[] if request.url.path.endswith("/") else {})

        client = mock_client(handler, namespace="guest")
        client.list_actions(package="my pkg", limit=5)
        client.list_actions(package="utils", namespace="whisk.system")
        client.list_packages(namespace="whisk.system", limit=10, skip=2)
        client.get_package("/whisk.system/utils")
        client.put_package("b", {"binding": {"namespace": "guest", "name": "p"}}, overwrite=True)
        client.delete_package("p")
        client.delete_package("p", force=True)
        assert [(r.method, r.url.raw_path) for r in seen] == [
            ("GET", b"/api/v1/namespaces/guest/actions/my%20pkg/?skip=0&limit=5"),
            ("GET", b"/api/v1/namespaces/whisk.system/actions/utils/?skip=0"),
            ("GET", b"/api/v1/namespaces/whisk.system/packages?skip=2&limit=10"),
            ("GET", b"/api/v1/namespaces/whisk.system/packages/utils"),
            ("PUT", b"/api/v1/namespaces/guest/packages/b?overwrite=true"),
            ("DELETE", b"/api/v1/namespaces/guest/packages/p"),
            ("DELETE", b"/api/v1/namespaces/guest/packages/p?force=true"),
        ]
        assert json.loads(seen[4].content) == {"binding": {"namespace": "guest", "name": "p"}}

    @pytest.mark.asyncio
    async def test_gateway_calls_carry_token_and_tenant(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.method == "DELETE":
                return httpx.Response(
                    502, json={"error": "API deletion failure: API '/x' does not exist."}
                )
            return httpx.Response(200, json={"apis": []})

        async with AsyncApiClient(
            "http://squall.test", "abc-uuid:k", transport=httpx.MockTransport(handler)
        ) as client:
            assert await client.get_apis(limit=30, skip=0) == {"apis": []}
            await client.create_api({"namespace": "_"}, response_type="text", access_token="t")
            with pytest.raises(ApiError, match="API '/x' does not exist.") as info:
                await client.delete_api("/x", relpath="/a", operation="GET")
        assert info.value.status == 502
        listing, create, delete = seen
        base = "/api/v1/web/whisk.system/apimgmt/"
        assert [r.url.path for r in seen] == [
            base + "getApi.http", base + "createApi.http", base + "deleteApi.http"
        ]
        assert dict(listing.url.params) == {
            "limit": "30", "skip": "0", "accesstoken": "DUMMY TOKEN", "spaceguid": "abc-uuid"
        }
        assert dict(create.url.params) == {
            "responsetype": "text", "accesstoken": "t", "spaceguid": "abc-uuid"
        }
        assert json.loads(create.content) == {"apidoc": {"namespace": "_"}}
        assert dict(delete.url.params)["operation"] == "GET"
        expected = "Basic " + base64.b64encode(b"abc-uuid:k").decode()
        assert create.headers["authorization"] == expected
