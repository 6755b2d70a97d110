from conftest import deploy


def test_deploy_and_invoke(server):
    name, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "hello")
        r = c.post("/api/v1/namespaces/_/actions/hello?blocking=true&result=true", json={"name": "World"})
        assert r.status_code == 200
        assert r.json() == {"greeting": "Hello World"}
