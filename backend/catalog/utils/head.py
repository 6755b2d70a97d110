import math


def _count(num):
    """JavaScript's ToNumber then truncation, as slice() reads its end."""
    try:
        value = float(num)
    except (TypeError, ValueError):
        return 0
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return None if value > 0 else 0
    return int(value)


def main(args):
    """Extract prefix of an array."""
    lines = args.get("lines") or []
    num = args.get("num") or 1
    if not isinstance(lines, list):
        raise TypeError("lines must be an array")
    end = _count(num)
    return {"lines": lines[:end], "num": num}
