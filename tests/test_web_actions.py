"""Web actions over plain HTTP, without an API key: what the action receives, how its result
becomes the response, and OpenWhisk's codes and texts."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from conftest import assert_error, deploy

ARGS = "def main(args):\n    return {'args': args}\n"
HTTP = '''
import base64
def main(args):
    kind = args.get("kind")
    if kind == "png":
        return {"statusCode": 201, "headers": {"Content-Type": "image/png", "X-Many": ["a", "b"]},
                "body": base64.b64encode(bytes(range(8))).decode()}
    if kind == "json":
        return {"headers": {"Content-Type": "application/json"}, "body": {"items": [1, 2]}}
    if kind == "empty":
        return {"headers": {"Content-Type": "text/plain", "X-Empty": "yes"}}
    if kind == "redirect":
        return {"statusCode": 302, "headers": {"location": "/elsewhere"}}
    if kind == "bad":
        return {"statusCode": "nope"}
    if kind == "fail":
        return {"error": {"statusCode": 418, "body": "teapot"}}
    return {"body": "<p>" + args.get("name", "?") + "</p>"}
'''
PAGES = '''
def main(args):
    return {"html": "<b>page</b>", "svg": "<svg/>", "text": "plain", "data": {"items": [3, 4], "n": 1}}
'''
NOT_FOUND = "The requested resource does not exist."
WEB = [{"key": "web-export", "value": True}]


@pytest.fixture
def web(server, client, ns):
    """An anonymous client, and where this namespace's web actions are."""
    with httpx.Client(base_url=f"{server.apihost}/api/v1/web/{ns[0]}", timeout=70.0) as anonymous:
        yield anonymous


def basic(auth: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def body_of(r: httpx.Response) -> Any:
    return r.json()["args"]


def test_parameters_the_action_receives(client, web, ns):
    deploy(client, "args", ARGS, annotations=WEB, parameters=[{"key": "bound", "value": "b"}])
    assert body_of(web.get("/default/args.json/some/path/"))["__ow_path"] == "/some/path/"
    args = body_of(web.get("/default/args.json?a=1&b=two", headers={"X-Custom": "Yes"}))
    assert args["a"] == "1" and args["b"] == "two" and args["bound"] == "b"
    assert args["__ow_method"] == "get" and args["__ow_path"] == ""
    assert args["__ow_headers"]["x-custom"] == "Yes" and "__ow_user" not in args
    args = body_of(web.post("/default/args.json", json={"j": {"deep": True}, "a": "body"}, params={"a": "query"}))
    assert args["j"] == {"deep": True} and args["a"] == "body" and args["__ow_method"] == "post"
    args = body_of(web.post("/default/args.json", data={"f": "form", "g": ""}))
    assert args["f"] == "form" and args["g"] == ""
    args = body_of(web.post("/default/args.json", json=[1, 2]))
    assert args["__ow_body"] == [1, 2]
    args = body_of(web.put("/default/args.json", content=b"hello", headers={"Content-Type": "text/plain"}))
    assert args["__ow_body"] == "hello" and args["__ow_method"] == "put"
    args = body_of(web.post("/default/args.json", content=bytes([0, 255]),
                            headers={"Content-Type": "application/octet-stream"}))
    assert base64.b64decode(args["__ow_body"]) == bytes([0, 255])
    assert body_of(web.get("/default/args.json", headers=basic(ns[1])))["__ow_user"] == ns[0]


def test_raw_http_gets_query_and_body_as_they_came(client, web):
    deploy(client, "raw", ARGS, annotations=WEB + [{"key": "raw-http", "value": True}])
    args = body_of(web.post("/default/raw.json?x=1&y=2", json={"name": "Jane"}))
    assert args["__ow_query"] == "x=1&y=2" and "x" not in args and "name" not in args
    assert json.loads(base64.b64decode(args["__ow_body"])) == {"name": "Jane"}
    args = body_of(web.post("/default/raw.json", data={"a": "b"}))
    assert args["__ow_body"] == "a=b"
    args = body_of(web.get("/default/raw.json?__ow_method=x"))  # nothing to override in raw mode
    assert args["__ow_method"] == "get"


def test_http_results_become_responses(client, web):
    deploy(client, "page", HTTP, annotations=WEB)
    r = web.get("/default/page.http?name=Ada")
    assert r.status_code == 200 and r.text == "<p>Ada</p>" and r.headers["content-type"].startswith("text/html")
    r = web.get("/default/page?name=Bo")  # no extension means .http
    assert r.text == "<p>Bo</p>"
    r = web.get("/default/page.http?kind=png")
    assert r.status_code == 201 and r.content == bytes(range(8)) and r.headers["content-type"] == "image/png"
    assert r.headers.get_list("x-many") == ["a", "b"]
    r = web.get("/default/page.http?kind=json")
    assert r.json() == {"items": [1, 2]} and r.headers["content-type"] == "application/json"
    r = web.get("/default/page.http?kind=empty")
    assert r.status_code == 204 and r.content == b"" and r.headers["x-empty"] == "yes"
    assert "content-type" not in r.headers
    r = web.get("/default/page.http?kind=redirect")
    assert r.status_code == 302 and r.headers["location"] == "/elsewhere"
    assert_error(web.get("/default/page.http?kind=bad"), 400, "Response is not valid 'message/http'.")
    r = web.get("/default/page.http?kind=fail")
    assert r.status_code == 418 and r.text == "teapot"
    assert r.headers["x-openwhisk-activation-id"]


def test_json_html_svg_and_text(client, web):
    deploy(client, "pages", PAGES, annotations=WEB)
    assert web.get("/default/pages.json").json()["data"] == {"items": [3, 4], "n": 1}
    # As in current OpenWhisk, the rest of the path is the action's (`__ow_path`), not a projection.
    assert web.get("/default/pages.json/data/items").json()["data"] == {"items": [3, 4], "n": 1}
    r = web.get("/default/pages.html")
    assert r.text == "<b>page</b>" and r.headers["content-type"] == "text/html; charset=UTF-8"
    r = web.get("/default/pages.svg")
    assert r.text == "<svg/>" and r.headers["content-type"] == "image/svg+xml"
    r = web.get("/default/pages.text")
    assert r.text == "plain" and r.headers["content-type"] == "text/plain; charset=UTF-8"
    deploy(client, "bodies", "def main(args):\n    return {'body': args.get('b'), 'html': 'h', 'text': 't'}\n",
           annotations=WEB)
    assert web.get("/default/bodies.html?b=first").text == "first"  # `body` wins over the extension's field
    assert web.get("/default/bodies.text?b=7").text == "7"
    assert_error(web.get("/default/bodies.html"), 400, "Response is not valid 'text/html'.")  # body: null
    deploy(client, "bare", "def main(args):\n    return {'other': 1}\n", annotations=WEB)
    assert_error(web.get("/default/bare.text"), 404, "Response does not include requested property.")
    assert_error(web.get("/default/bare.svg"), 400, "Response is not valid 'image/svg+xml'.")


def test_errors_and_their_texts(client, web, ns):
    deploy(client, "hidden", ARGS)
    deploy(client, "crash", "def main(args):\n    raise SystemExit(1)\n", annotations=WEB)
    deploy(client, "final", ARGS, annotations=WEB + [{"key": "final", "value": True}],
           parameters=[{"key": "fixed", "value": "f"}])
    assert_error(web.get("/default/hidden.json"), 404, NOT_FOUND)
    assert_error(web.get("/default/missing.json"), 404, NOT_FOUND)
    assert_error(web.get("/nopkg/hidden.json"), 404, NOT_FOUND)
    with httpx.Client(base_url=web.base_url.copy_with(path="/api/v1/web")) as root:
        assert_error(root.get("/ns_does_not_exist/default/hidden.json"), 404, NOT_FOUND)
    assert_error(web.get("/default/hidden.xml"), 406,
                 "Extension must be specified and one of [.json, .html, .http, .svg, .text].")
    text = "Request defines parameters that are not allowed (e.g., reserved properties)."
    assert_error(web.get("/default/final.json?fixed=x"), 400, text)
    assert_error(web.post("/default/final.json", json={"__ow_path": "/x"}), 400, text)
    assert_error(web.get("/default/final.json?__ow_headers=x"), 400, text)
    assert_error(web.get("/default/crash.json"), 400, "There was an error processing your request.")


def test_a_slow_web_action_answers_202(server, client, web):
    """The wait is OpenWhisk's 60 s; this test takes that long, so it runs once, alone."""
    deploy(client, "slow", "import time\ndef main(args):\n    time.sleep(65)\n    return {}\n",
           annotations=WEB, limits={"timeout": 120000})
    r = web.get("/default/slow.json")
    assert r.status_code == 202 and r.json()["error"] == "Response not yet ready."
    assert r.headers["x-openwhisk-activation-id"]


def test_cors_options_and_whisk_auth(client, web, ns):
    deploy(client, "open", ARGS, annotations=WEB)
    r = web.options("/default/open.json", headers={"Access-Control-Request-Headers": "X-A"})
    assert r.status_code == 200 and r.content == b"" and "x-openwhisk-activation-id" not in r.headers
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
    assert r.headers["access-control-allow-headers"] == "X-A"
    assert web.get("/default/open.json").headers["access-control-allow-origin"] == "*"
    deploy(client, "custom", "def main(args):\n    return {'body': args['__ow_method']}\n",
           annotations=WEB + [{"key": "web-custom-options", "value": True},
                              {"key": "require-whisk-auth", "value": "needed-but-not-for-options"}])
    r = web.options("/default/custom.http")
    assert r.text == "options" and "access-control-allow-origin" not in r.headers
    deploy(client, "secret", ARGS, annotations=WEB + [{"key": "require-whisk-auth", "value": "s3cret"}])
    denied = "Authentication is possible but has failed or not yet been provided."
    assert_error(web.get("/default/secret.json"), 401, denied)
    assert_error(web.get("/default/secret.json", headers={"X-Require-Whisk-Auth": "wrong"}), 401, denied)
    assert web.get("/default/secret.json", headers={"X-Require-Whisk-Auth": "s3cret"}).status_code == 200
    deploy(client, "keyed", ARGS, annotations=WEB + [{"key": "require-whisk-auth", "value": True}])
    assert_error(web.get("/default/keyed.json"), 401, denied)
    assert web.get("/default/keyed.json", headers=basic(ns[1])).status_code == 200


def test_web_actions_in_packages_and_sequences(server, client, web, ns):
    name, _ = ns
    client.put("/api/v1/namespaces/_/packages/site", json={"parameters": [{"key": "site", "value": "p"}]})
    deploy(client, "site/page", ARGS, annotations=WEB)
    assert body_of(web.get("/site/page.json"))["site"] == "p"
    deploy(client, "inc", "def main(args):\n    return {'n': int(args.get('n', 0)) + 1}\n")
    r = client.put("/api/v1/namespaces/_/actions/twice", json={
        "exec": {"kind": "sequence", "components": [f"/{name}/inc", f"/{name}/inc"]}, "annotations": WEB})
    assert r.status_code == 200
    assert web.get("/default/twice.json?n=1").json() == {"n": 3}
    with httpx.Client(base_url=f"{server.apihost}/api/v1/web", timeout=30.0) as root:
        r = root.post("/whisk.system/utils/echo.json", json={"x": 1})  # not exported
        assert_error(r, 404, NOT_FOUND)
