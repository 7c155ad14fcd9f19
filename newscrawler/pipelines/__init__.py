"""Item pipelines, in order (see settings.ITEM_PIPELINES): validate → normalise → dedup → store.

Each stage only transforms or drops an item; dropped items carry a reason that is counted in the
crawl stats under `item_dropped_reasons/<reason>` and in the run record.
"""
