"""What several subcommands share: opening the store with plain-worded failures."""

from __future__ import annotations

import sys

from newscrawler import config
from newscrawler.store import Store, StoreError

EXIT_USAGE = 2
EXIT_STORE = 3


def open_store(args) -> Store | None:
    """The store for --data-dir / MONGO_URI, or None after printing why it cannot be reached."""
    try:
        return Store.open(data_dir=config.data_dir(args.data_dir))
    except StoreError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return None
