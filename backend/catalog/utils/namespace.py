import os


def main(args):
    """Returns namespace for the authorization key used to invoke this action."""
    return {"namespace": os.environ.get("__OW_NAMESPACE", "")}
