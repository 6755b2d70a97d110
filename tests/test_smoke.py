from conftest import deploy


def test_deploy_and_invoke(server):
    name, auth = server.new_namespace()
    with server.client(auth) as c:
        deploy(c, "hello")
        r = c.post("/api/v1/namespaces/_/actions/hello?blocking=true&result=true", json={"name": "World"})
        assert r.status_code == 200
        assert r.json() == {"greeting": "Hello World"}


def test_results_keep_every_digit_and_character_and_stay_valid_json(server):
    """What an action returns comes back as it was, in the answer and in the stored record: an
    integer past 64 bits, integer keys (as strings), text beyond ASCII; NaN, which JSON cannot
    say, as null (as JavaScript writes it), so the answer stays JSON any client can read."""
    name, auth = server.new_namespace()
    code = ("def main(args):\n"
            "    return {'big': 2 ** 70, 'keys': {1: 'one'}, 'text': 'é\\u2028✓', 'nan': float('nan'),\n"
            "            'echo': args.get('big')}\n")
    expected = {"big": 2 ** 70, "keys": {"1": "one"}, "text": "é\u2028✓", "nan": None, "echo": 2 ** 65}
    with server.client(auth) as c:
        deploy(c, "values", code)
        r = c.post("/api/v1/namespaces/_/actions/values?blocking=true", content=b'{"big": 36893488147419103232}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["response"]["result"] == expected
        stored = c.get(f"/api/v1/namespaces/_/activations/{r.json()['activationId']}")
        assert stored.json()["response"]["result"] == expected
