"""`newscrawler extract PATH_OR_URL... [--url URL] [--site SITE]`: one JSON object per input (JSON Lines).

Files are read as bytes so the charset logic runs as it does on fetched pages. `"id"` is the input file
name without its extension. This output is also what accuracy is measured on: keep the format stable.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("extract", help="extract articles from saved pages or URLs (JSON Lines)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="PATH_OR_URL", help="saved HTML files or http(s) URLs")
    p.add_argument("--url", help="the URL the page was fetched from (default: file:// of the path)")
    p.add_argument("--site", help="portal profile to use (default: the one owning the URL, if any)")
    p.set_defaults(func=run)


def _fetch(url: str) -> tuple[bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers={"User-Agent": "newscrawler-extract/0.1"})
    with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - the user asked for this URL
        return resp.read(), dict(resp.headers.items())


def run(args: argparse.Namespace) -> int:
    from newscrawler.extract import ExtractionError, extract
    from newscrawler.profiles import ProfileError, load_profiles

    try:
        profiles = load_profiles()
    except ProfileError as exc:
        print(f"newscrawler extract: {exc}", file=sys.stderr)
        return 2
    if args.site and args.site not in profiles:
        print(f"newscrawler extract: no profile for site {args.site!r}; known: {', '.join(sorted(profiles))}",
              file=sys.stderr)
        return 2
    status = 0
    for item in args.inputs:
        headers: dict[str, str] = {}
        if item.startswith(("http://", "https://")):
            url = args.url or item
            ident = Path(urlsplit(item).path).stem or urlsplit(item).hostname or item
            try:
                body, headers = _fetch(item)
            except OSError as exc:
                print(f"newscrawler extract: cannot fetch {item}: {exc}", file=sys.stderr)
                status = 1
                continue
        else:
            path = Path(item)
            ident = path.stem
            url = args.url or path.resolve().as_uri()
            try:
                body = path.read_bytes()
            except OSError as exc:
                print(f"newscrawler extract: cannot read {item}: {exc.strerror}", file=sys.stderr)
                status = 1
                continue
        profile = profiles[args.site] if args.site else next(
            (p for p in profiles.values() if p.owns_url(url)), None)
        try:
            article = extract(body, url, headers=headers, profile=profile)
        except ExtractionError as exc:
            print(f"newscrawler extract: {exc}", file=sys.stderr)
            status = 1
            continue
        record = {"id": ident, **article.extracted()}
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return status
