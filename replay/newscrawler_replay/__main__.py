"""`python -m newscrawler_replay generate|serve DIR`: the replay commands without the rest of the CLI."""

from __future__ import annotations

import argparse
import json
import sys

from newscrawler.cli.replay import add_commands


def _bench(args: argparse.Namespace) -> int:
    from newscrawler_replay.loadtest import bench

    print(json.dumps(bench(args.dir, args.seconds, args.connections)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newscrawler_replay")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub)
    bench = sub.add_parser("bench", help="requests/s a spawned server answers for DIR's article pages")
    bench.add_argument("dir", metavar="DIR")
    bench.add_argument("--seconds", type=float, default=5.0)
    bench.add_argument("--connections", type=int, default=16)
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
