import re


def main(args):
    """Split a string into an array: at `separator` (a literal string), else at line ends."""
    payload = args.get("payload")
    if payload is None:
        raise TypeError("payload is required")
    separator = args.get("separator")
    text = js_string(payload)
    lines = text.split(js_string(separator)) if separator else re.split(r"\r?\n", text)
    return {"lines": lines, "payload": payload}
