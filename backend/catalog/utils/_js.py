def js_string(value, in_array=False):
    """A JSON value as JavaScript's String() writes it (Array.join writes null as "")."""
    if value is None:
        return "" if in_array else "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(js_string(v, True) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)
