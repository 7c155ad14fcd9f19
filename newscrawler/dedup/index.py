"""What the dedup engine needs from its state, and an in-memory implementation of it.

The engine (engine.py) asks four things per batch: fingerprints by URL, fingerprints sharing a band key,
the canonical member of some clusters, and one write of the batch's new state. `FingerprintRoom` in
newscrawler/store/fingerprints.py answers them from MongoDB; `MemoryIndex` answers them from dicts, so
the engine's rules are tested without a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol


class DedupIndex(Protocol):
    def by_urls(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored fingerprints by canonical URL (`_id`)."""

    def by_bands(self, key_groups: Iterable[list[int]]) -> list[dict[str, Any]]:
        """Stored fingerprints sharing a band key with any of the groups (one group per article)."""

    def cluster_canonicals(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cluster id → its canonical member, for clusters that have a document."""

    def write(self, new: list[dict[str, Any]], changed: list[dict[str, Any]], joins: list[dict[str, Any]],
              *, final: bool = False) -> None:
        """Insert new fingerprints, replace changed ones, add members to clusters (idempotent)."""


def cluster_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored cluster as `db clusters` and the console show it: members in the order they were seen."""
    members = sorted(doc.get("members", []),
                     key=lambda m: (m.get("firstSeen") or datetime.min.replace(tzinfo=UTC), m.get("url", "")))
    return {"cluster": doc["_id"], "canonical": (doc.get("canonical") or {}).get("url"),
            "headline": doc.get("headline"), "size": len(members),
            "urls": [m["url"] for m in members], "members": members,
            "createdAt": doc.get("createdAt"), "updatedAt": doc.get("updatedAt")}


class MemoryIndex:
    """Dedup state in dictionaries: for unit tests and runs without a database."""

    def __init__(self) -> None:
        self.fingerprints: dict[str, dict[str, Any]] = {}
        self.clusters: dict[str, dict[str, Any]] = {}
        self._by_band: dict[int, list[str]] = {}

    def by_urls(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {u: dict(self.fingerprints[u]) for u in urls if u in self.fingerprints}

    def by_bands(self, key_groups: Iterable[list[int]]) -> list[dict[str, Any]]:
        ids = dict.fromkeys(i for group in key_groups for k in group for i in self._by_band.get(k, ()))
        return [dict(self.fingerprints[i]) for i in ids]

    def cluster_canonicals(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {i: self.clusters[i]["canonical"] for i in ids if self.clusters.get(i, {}).get("canonical")}

    def write(self, new: list[dict[str, Any]], changed: list[dict[str, Any]], joins: list[dict[str, Any]],
              *, final: bool = False) -> None:
        for fp in [*new, *changed]:
            old = self.fingerprints.get(fp["_id"])
            if old is not None:
                for k in old.get("bands", ()):
                    self._by_band[k].remove(fp["_id"])
            self.fingerprints[fp["_id"]] = dict(fp)
            for k in fp.get("bands", ()):
                self._by_band.setdefault(k, []).append(fp["_id"])
        for j in joins:
            cluster = self.clusters.setdefault(j["cluster"], {"_id": j["cluster"], "members": [],
                                                              "headline": j.get("headline")})
            for m in j["members"]:
                if m not in cluster["members"]:
                    cluster["members"].append(m)
            cluster["canonical"] = j["canonical"]

    def iter_clusters(self, min_size: int = 2) -> Iterator[dict[str, Any]]:
        for doc in self.clusters.values():
            view = cluster_view(doc)
            if view["size"] >= min_size:
                yield view

    def count(self) -> dict[str, int]:
        return {"fingerprints": len(self.fingerprints), "clusters": len(self.clusters)}
