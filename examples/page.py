def main(args):
    """A web action: an HTML page for `?name=`, and what was asked for in `__ow_path`."""
    name = args.get("name", "stranger")
    return {"headers": {"Content-Type": "text/html"},
            "body": f"<h1>Hello {name}</h1><p>method {args['__ow_method']}, path {args['__ow_path'] or '/'}</p>"}
