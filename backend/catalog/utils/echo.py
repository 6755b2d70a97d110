def main(args):
    """Returns the input."""
    return args
