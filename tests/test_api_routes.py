"""API routes (the gateway): managed through whisk.system/apimgmt as `wsk api` does, served at
`/api/{namespace uuid}{basePath}{relPath}`, kept across restarts."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx

from conftest import deploy, running

MGMT = "/api/v1/web/whisk.system/apimgmt"
WEB = [{"key": "web-export", "value": True}]
BOOKS = '''
def main(args):
    return {"body": {"method": args["__ow_method"], "path": args["__ow_path"], "q": args.get("q")},
            "statusCode": 200, "headers": {"Content-Type": "application/json"}}
'''
HELLO = "def main(args):\n    return {'greeting': 'hello ' + args.get('name', 'you')}\n"


def apidoc(auth: str, apihost: str, base: str, rel: str, verb: str, action: str, **extra: Any) -> dict[str, Any]:
    """What `wsk api create BASE REL VERB ACTION` sends (openwhisk-cli's commands/api.go)."""
    package, _, name = action.rpartition("/")
    return {"apidoc": {"namespace": "_", "gatewayBasePath": base, "gatewayPath": rel,
                       "gatewayMethod": verb.upper(), "id": f"API:_:{base}",
                       "action": {"name": action, "namespace": "_", "backendMethod": verb.upper(),
                                  "backendUrl": f"{apihost}/api/v1/web/_/{package or 'default'}/{name}.http",
                                  "authkey": auth}, **extra}}


def create(c: httpx.Client, auth: str, apihost: str, base: str, rel: str, verb: str, action: str,
           response_type: str = "json", **extra: Any) -> httpx.Response:
    return c.post(f"{MGMT}/createApi.http", params={"responsetype": response_type, "accesstoken": "DUMMY TOKEN",
                                                   "spaceguid": auth.split(":")[0]},
                  json=apidoc(auth, apihost, base, rel, verb, action, **extra))


def test_create_list_call_and_delete_routes(server, client, ns):
    name, auth = ns
    uuid = auth.split(":")[0]
    deploy(client, "hello", HELLO, annotations=WEB)
    deploy(client, "books", BOOKS, annotations=WEB)
    r = create(client, auth, server.apihost, "/club", "/hello", "get", "hello", apiName="Club")
    assert r.status_code == 200, r.text
    value = r.json()
    assert value["gwApiUrl"] == f"{server.apihost}/api/{uuid}/club" and value["gwApiActivated"] is True
    operation = value["apidoc"]["paths"]["/hello"]["get"]
    assert operation["operationId"] == "getHello"
    assert operation["x-openwhisk"] == {"url": f"{server.apihost}/api/v1/web/{name}/default/hello.json",
                                        "namespace": name, "package": "", "action": "hello"}
    assert value["apidoc"]["info"]["title"] == "Club" and value["apidoc"]["basePath"] == "/club"
    r = create(client, auth, server.apihost, "/club", "/books/{isbn}", "post", "books", "http",
               pathParameters=[{"name": "isbn", "in": "path", "required": True, "type": "string",
                                "description": "Default description for 'isbn'"}])
    assert r.status_code == 200, r.text
    assert sorted(r.json()["apidoc"]["paths"]) == ["/books/{isbn}", "/hello"]  # one document per base path
    listed = client.get(f"{MGMT}/getApi.http", params={"basepath": "/club"}).json()["apis"]
    assert len(listed) == 1 and listed[0]["value"]["apidoc"]["basePath"] == "/club"
    assert client.get(f"{MGMT}/getApi.http", params={"basepath": "Club"}).json()["apis"][0]["value"] == \
        listed[0]["value"]  # by API name too
    with httpx.Client(base_url=f"{server.apihost}/api/{uuid}", timeout=30.0) as gw:
        r = gw.get("/club/hello", params={"name": "Ada"})
        assert r.status_code == 200 and r.json() == {"greeting": "hello Ada"}
        r = gw.post("/club/books/978-0596517748", params={"q": "x"})
        assert r.json() == {"method": "post", "path": "/club/books/978-0596517748", "q": "x"}
        assert gw.get("/club/books/1").json() == {"status": 404, "message": "Error: Whoops. Verb not supported."}
        assert gw.get("/club/nothing").json() == {"status": 404, "message": "Error: Not found."}
        assert gw.get("/club/nothing").status_code == 404
        r = client.delete(f"{MGMT}/deleteApi.http", params={"basepath": "/club", "relpath": "/hello",
                                                            "operation": "GET"})
        assert r.status_code == 200 and r.json() == {}
        assert gw.get("/club/hello").json() == {"status": 404, "message": "Error: Not found."}
        assert gw.post("/club/books/2").status_code == 200  # the other route stays
        r = client.delete(f"{MGMT}/deleteApi.http", params={"basepath": "/club"})
        assert r.status_code == 200
        assert gw.post("/club/books/2").status_code == 404
    assert client.get(f"{MGMT}/getApi.http").json() == {"apis": []}


def test_management_errors_are_502_with_the_texts(server, client, ns):
    _, auth = ns
    anonymous = httpx.post(f"{server.apihost}{MGMT}/createApi.http", json={"apidoc": {}})
    assert anonymous.status_code == 502 and anonymous.json() == {"error": "A valid auth key is required."}
    r = client.post(f"{MGMT}/createApi.http", json={})
    assert r.status_code == 502 and r.json() == {"error": "apidoc is required."}
    body = apidoc(auth, server.apihost, "/b", "/r", "get", "a")
    del body["apidoc"]["gatewayPath"]
    assert client.post(f"{MGMT}/createApi.http", json=body).json() == {
        "error": "apidoc is missing the gatewayPath field"}
    r = create(client, auth, server.apihost, "/b", "/items/{id}", "get", "a", "json")
    assert r.status_code == 502 and r.json() == {"error": "API creation failure: The action must use a response "
                                                 "type of '.http' in order to receive the path parameters."}
    r = client.delete(f"{MGMT}/deleteApi.http", params={"basepath": "/nothing"})
    assert r.status_code == 502 and r.json() == {"error": "API deletion failure: API '/nothing' does not exist."}
    assert client.delete(f"{MGMT}/deleteApi.http").json() == {"error": "basepath is required."}
    deploy(client, "a", HELLO, annotations=WEB)
    assert create(client, auth, server.apihost, "/b", "/r", "get", "a").status_code == 200
    r = client.delete(f"{MGMT}/deleteApi.http", params={"basepath": "/b", "relpath": "/r", "operation": "POST"})
    assert r.json() == {"error": "API deletion failure: path '/r' with operation 'post' does not exist in the API"}


def test_routes_survive_a_restart(tmp_path: Path):
    with running(tmp_path / "home") as srv:
        name, auth = srv.new_namespace()
        with srv.client(auth) as c:
            deploy(c, "hello", HELLO, annotations=WEB)
            assert create(c, auth, srv.apihost, "/keep", "/hi", "get", "hello").status_code == 200
        srv.stop(signal.SIGKILL)
        srv.start()
        r = httpx.get(f"{srv.apihost}/api/{auth.split(':')[0]}/keep/hi", params={"name": "again"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"greeting": "hello again"}
