def main(args):
    """Concatenates input into a string."""
    lines = args.get("lines") or []
    if not isinstance(lines, list):
        raise TypeError("lines must be an array")
    return {"lines": lines, "payload": "\n".join(js_string(line, True) for line in lines)}
