def main(args):
    """Nests all properties under given property."""
    field = args.get("$fieldName")
    if not isinstance(field, str):
        return {"error": "Expected an argument '$fieldName' of type 'string'."}
    rest = {k: v for k, v in args.items() if k != "$fieldName"}
    return {field: rest}
