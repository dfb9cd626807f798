"""`python -m marketing_ops.sandbox [--host H] [--port P]`."""

import argparse

from .server import serve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m marketing_ops.sandbox",
        description="Run the local platform sandbox in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765,
                        help="0 picks a free port (printed on start)")
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
