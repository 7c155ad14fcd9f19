"""The `newscrawler` command. Each subcommand lives in its own module with an `add_parser(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys

# module name → the subcommand(s) it adds; imported lazily so `newscrawler extract` does not load Scrapy.
SUBCOMMAND_MODULES = ("crawl", "schedule", "check", "demo", "db", "extract", "importer", "replay", "reprocess")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newscrawler",
        description="Crawl regional news portals into MongoDB, and inspect what was stored.",
    )
    parser.add_argument(
        "--data-dir",
        help="where the embedded database, logs and locks live (default: $NEWSCRAWLER_DATA_DIR or ./var)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"newscrawler.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"newscrawler.cli.{name}":
                continue  # a subcommand not written yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from newscrawler.cli.common import EXIT_SIGINT, Interrupted

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return EXIT_SIGINT
    except Interrupted as exc:  # SIGTERM/SIGINT while a job was starting: it has cleaned up
        print(f"newscrawler: stopped by {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
