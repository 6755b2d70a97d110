def main(args):
    """Sorts an array, as JavaScript's default sort does: by string form, in UTF-16 code units."""
    lines = args.get("lines") or []
    if not isinstance(lines, list):
        raise TypeError("lines must be an array")
    lines = sorted(lines, key=lambda v: js_string(v).encode("utf-16-be"))
    return {"lines": lines, "length": len(lines)}
