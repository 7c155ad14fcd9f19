"""Cluster decisions for a batch of normalised articles; the state lives behind a small index interface
(dedup/index.py: MongoDB's in store/fingerprints.py, an in-memory one for tests and one-off runs).

For each article, in order:
1. its canonical URL is already known → the same article (a re-crawl; the store records a version if
   the body changed); it keeps its cluster and its fingerprint is refreshed;
2. its Simplified body hash is known under another URL → exact duplicate;
3. an article sharing an LSH band key is similar enough (estimated Jaccard of character shingles) and
   its figures agree → near duplicate;
4. else it starts its own story (a cluster document is only written when a second member joins).

A batch costs one `$in` look-up of URLs, band look-ups in chunks of a few articles (see
DedupIndex.by_bands; identical bodies share every band key, so exact copies are found there too), one for
cluster canonicals and up to three bulk writes, however many articles it holds. Articles in the same
batch match each other too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from newscrawler.dedup.minhash import DEFAULT, LshParams, band_keys, from_bytes, jaccard, signature, to_bytes

if TYPE_CHECKING:
    from newscrawler.dedup.index import DedupIndex

# Below this many key characters a body is too short for near-duplicate matching ("图片新闻", a caption):
# only exact matches count.
MIN_NEAR_CHARS = 60
JACCARD_MIN = 0.5
# Template stories (weather, markets, traffic) share almost all their words and differ in figures.
NUMS_MIN = 3
NUMS_AGREE_MIN = 0.6
MAX_NUMS = 200
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGIT = re.compile(r"\d")


@dataclass
class Thresholds:
    jaccard: float = JACCARD_MIN
    min_near_chars: int = MIN_NEAR_CHARS
    nums_min: int = NUMS_MIN
    nums_agree: float = NUMS_AGREE_MIN


@dataclass
class Decision:
    cluster: str
    kind: str  # "exact", "near" or "none"
    duplicate_of: str | None = None
    similarity: float | None = None
    # True when the canonical URL was already known: a re-crawl, which repeats the first decision.
    known: bool = False

    def fields(self) -> dict[str, Any]:
        """The fields the article document carries."""
        return {"cluster": self.cluster, "dedup": self.kind, "duplicateOf": self.duplicate_of}


@dataclass
class _Candidate:
    fp: dict[str, Any]
    sig: np.ndarray = field(repr=False)


def cluster_id(canonical_url: str) -> str:
    """A story is named after its first article: stable, and needs no write until a second joins."""
    return "c" + hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()[:20]


def _short(fp: dict[str, Any]) -> bool:
    """A body with only its exact key (no band keys): it matches exact copies only."""
    return len(fp.get("bands") or ()) < 2


def exact_key(body_hash: str) -> int:
    """A signed 64-bit index key from the body hash, for bodies too short to have band keys."""
    return int(body_hash[:16], 16) - (1 << 63)


def numbers(text: str) -> list[str]:
    """The figures of a text in their slots: "ctx|number", ctx being the two characters before the
    number with digits masked ("气温|25", "#月|15"), so a slot names what the figure measures."""
    slots = []
    for m in _NUMBER.finditer(text):
        ctx = _DIGIT.sub("#", text[max(0, m.start() - 2) : m.start()])
        slots.append(f"{ctx}|{m.group()}")
    return sorted(set(slots))[:MAX_NUMS]


def figures_agree(a: list[str], b: list[str], t: Thresholds) -> bool:
    """False for template stories: the same slots ("气温", "#月", "成交额") holding other figures. Copies
    agree in the slots they share; slots only one side has (a boilerplate date, an added lead) do not
    count against them."""
    ctx_a = {s.rpartition("|")[0] for s in a}
    ctx_b = {s.rpartition("|")[0] for s in b}
    shared = ctx_a & ctx_b
    in_a = {s for s in a if s.rpartition("|")[0] in shared}
    in_b = {s for s in b if s.rpartition("|")[0] in shared}
    if min(len(in_a), len(in_b)) < t.nums_min:
        return True
    return len(in_a & in_b) / min(len(in_a), len(in_b)) >= t.nums_agree


def member(fp: dict[str, Any]) -> dict[str, Any]:
    """A cluster member as stored: always built the same way from a fingerprint, so $addToSet of the
    same member twice is a no-op."""
    return {"url": fp["_id"], "site": fp.get("site"), "source": fp.get("source"),
            "firstSeen": fp.get("firstSeen"), "published": fp.get("published"),
            "original": bool(fp.get("original"))}


def _aware(when: datetime) -> datetime:
    # pymongo without tz_aware hands back naive UTC.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _rank(m: dict[str, Any]) -> tuple:
    """Smaller is more canonical: the original outlet's own article, then the earliest."""
    when = m.get("published") or m.get("firstSeen") or datetime.max.replace(tzinfo=UTC)
    return (not m.get("original"), _aware(when), m.get("url") or "")


def better_canonical(current: dict[str, Any] | None, challenger: dict[str, Any]) -> dict[str, Any]:
    if current is None or _rank(challenger) < _rank(current):
        return challenger
    return current


def sketch(item: dict[str, Any], params: LshParams = DEFAULT) -> dict[str, Any]:
    """What dedup computes of a normalised item by itself, before any look-up: its MinHash signature, band keys
    and figures. The crawl has it made with normalisation, in the extraction process (the `matchSketch` field);
    a fingerprint made with other parameters than the sketch's computes its own."""
    key = item.get("matchKey") or ""
    return {"params": params, "sig": to_bytes(signature(key, params)), "bands": band_keys(key, params),
            "nums": numbers(item.get("articleBodySimplified") or item.get("articleBody") or "")}


class Deduplicator:
    def __init__(self, index: DedupIndex, params: LshParams = DEFAULT, thresholds: Thresholds | None = None):
        self.index = index
        self.params = params
        self.t = thresholds or Thresholds()

    def fingerprint(self, item: dict[str, Any], now: datetime, original: bool) -> tuple[dict[str, Any], np.ndarray]:
        key = item.get("matchKey") or ""
        near = len(key) >= self.t.min_near_chars
        made = item.get("matchSketch")
        if not made or made.get("params") != self.params:
            made = sketch(item, self.params) if near else {"sig": to_bytes(signature(key, self.params))}
        published = item.get("datePublished") if item.get("dateTrusted") else None
        fp = {"_id": item["canonicalUrl"], "bodyHash": item["bodyHash"],
              # Identical bodies have identical band keys, so one multikey index finds exact and near
              # copies; a body too short for near matching gets one key made from its hash instead.
              "bands": made["bands"] if near else [exact_key(item["bodyHash"])],
              "sig": made["sig"],
              # Figures from the text, not the key: the key has no separators, so "7月15日 25℃" would be "71525".
              "nums": made["nums"] if near else [],
              "site": item.get("site"), "source": item.get("source"),
              "firstSeen": now, "published": published if isinstance(published, datetime) else None,
              "original": original}
        return fp, from_bytes(made["sig"])

    def process(self, items: list[dict[str, Any]], originals: list[bool] | None = None,
                now: datetime | None = None, *, final: bool = False) -> list[Decision]:
        """Decide every item's story, write the new state, and return one Decision per item."""
        if not items:
            return []
        now = now or datetime.now(UTC)
        # BSON keeps milliseconds: a member built now must equal the same member read back later.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        originals = originals or [False] * len(items)
        prepared = [self.fingerprint(it, now, orig) for it, orig in zip(items, originals, strict=True)]

        known = self.index.by_urls(fp["_id"] for fp, _ in prepared)
        band_docs = self.index.by_bands(fp["bands"] for fp, _ in prepared if fp["_id"] not in known)
        by_band: dict[int, list[_Candidate]] = {}
        for doc in band_docs:
            cand = _Candidate(doc, from_bytes(doc["sig"]))
            for k in doc.get("bands", ()):
                by_band.setdefault(k, []).append(cand)

        decisions: list[Decision] = []
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        joins: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # (cluster, matched fp, new fp)
        for fp, sig in prepared:
            url = fp["_id"]
            old = known.get(url)
            if old is not None:
                decision = Decision(old["cluster"], old.get("dedup") or "none", old.get("duplicateOf"), known=True)
                if old.get("bodyHash") != fp["bodyHash"]:
                    # A changed body (a correction): same article, same story; refresh what it matches by.
                    fp.update(cluster=old["cluster"], firstSeen=old.get("firstSeen") or now,
                              dedup=old.get("dedup"), duplicateOf=old.get("duplicateOf"))
                    changed.append(fp)
                    self._remember(fp, sig, known, by_band)
                decisions.append(decision)
                continue
            match, kind, sim = self._match(fp, sig, by_band)
            if match is None:
                decision = Decision(cluster_id(url), "none")
            else:
                decision = Decision(match["cluster"], kind, match["_id"], sim)
                joins.append((match["cluster"], match, fp))
            fp.update(cluster=decision.cluster, dedup=decision.kind, duplicateOf=decision.duplicate_of)
            new.append(fp)
            self._remember(fp, sig, known, by_band)
            decisions.append(decision)

        self.index.write(new, changed, self._joins(joins, items), final=final)
        return decisions

    def _match(self, fp: dict[str, Any], sig: np.ndarray,
               by_band: dict[int, list[_Candidate]]) -> tuple[dict[str, Any] | None, str, float | None]:
        candidates: dict[str, _Candidate] = {}
        for k in fp["bands"]:
            for cand in by_band.get(k, ()):
                if cand.fp["_id"] != fp["_id"]:
                    candidates[cand.fp["_id"]] = cand
        same = [c.fp for c in candidates.values() if c.fp.get("bodyHash") == fp["bodyHash"]]
        if same:
            return min(same, key=lambda d: (_aware(d.get("firstSeen") or fp["firstSeen"]), d["_id"])), "exact", 1.0
        if _short(fp):
            return None, "none", None
        best, best_sim = None, self.t.jaccard
        for cand in candidates.values():
            if _short(cand.fp):
                continue
            sim = jaccard(sig, cand.sig)
            if sim >= best_sim and figures_agree(fp["nums"], cand.fp.get("nums") or [], self.t):
                if best is None or sim > best_sim:
                    best, best_sim = cand.fp, sim
        return (best, "near", best_sim) if best is not None else (None, "none", None)

    @staticmethod
    def _remember(fp: dict[str, Any], sig: np.ndarray, known: dict, by_band: dict) -> None:
        """Later items of the same batch must see this one as if it were already stored."""
        known[fp["_id"]] = fp
        cand = _Candidate(fp, sig)
        for k in fp["bands"]:
            by_band.setdefault(k, []).append(cand)

    def _joins(self, joins: list[tuple[str, dict, dict]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not joins:
            return []
        canonicals = self.index.cluster_canonicals(c for c, _, _ in joins)
        headlines = {it["canonicalUrl"]: it.get("headline") for it in items}
        out = []
        for cluster, matched, new in joins:
            old_m, new_m = member(matched), member(new)
            canonical = better_canonical(better_canonical(canonicals.get(cluster), old_m), new_m)
            canonicals[cluster] = canonical
            out.append({"cluster": cluster, "members": [old_m, new_m], "canonical": canonical,
                        "headline": headlines.get(matched["_id"]) or headlines.get(new["_id"])})
        return out
