"""Script detection and the Simplified matching key, from OpenCC's own tables.

The page text is stored as published. Matching needs one script, so every body also gets a key in
Simplified characters. The key uses OpenCC's character tables (TSCharacters, TSCharactersExt) applied
character by character to every page, Simplified or not: that is symmetric (a Simplified original and the
Traditional copy made from it land on the same key even where the phrase-level converter would pick
differently, e.g. 乾隆) and costs one str.translate. The readable Simplified text of a Traditional page uses
OpenCC's phrase-level t2s (the official C++ binding).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import opencc

# OpenCC's character tables as text (the official binding ships them compiled only); Apache-2.0, see
# opencc_data/README.md. TSCharactersExt holds the rare characters t2s maps before TSCharacters.
_DATA_DIR = Path(__file__).with_name("opencc_data")
# A page needs this many characters that exist only in one script before we name its script.
MIN_EVIDENCE = 3


def _read_table(*names: str) -> dict[str, str]:
    """Character → its first conversion; the first file listing a character wins (OpenCC's
    short-circuit order)."""
    table: dict[str, str] = {}
    for name in names:
        with (_DATA_DIR / name).open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2 and len(parts[0]) == 1 and parts[0] not in table:
                    table[parts[0]] = parts[1].split(" ")[0]
    return {k: v for k, v in table.items() if v and v != k}


_T2S_TABLES = ("TSCharactersExt.txt", "TSCharacters.txt")


@lru_cache(maxsize=1)
def _t2s_chars() -> dict[int, str]:
    return {ord(k): v for k, v in _read_table(*_T2S_TABLES).items()}


@lru_cache(maxsize=1)
def _script_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Characters that exist only in Traditional, and only in Simplified writing."""
    ts = _read_table(*_T2S_TABLES)
    st = _read_table("STCharacters.txt")
    trad_only = frozenset(ch for ch in ts if ch not in st)
    simp_only = frozenset(ch for ch in st if ch not in ts)
    return trad_only, simp_only


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # The official binding (C++): 0.19 ms per 2,640 characters where opencc-python-reimplemented took
    # 12.2 ms, the same Traditional bodies back to back on this machine (issue 11 measured 0.34 vs 32 ms
    # on a loaded one).
    return opencc.OpenCC("t2s.json")


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def detect_script(text: str | None) -> str | None:
    """'Hant', 'Hans', or None when the text is not Chinese. Mixed text goes with the majority."""
    if not text or not _HAN.search(text):
        return None
    trad_only, simp_only = _script_sets()
    chars = set(text)
    # Count distinct characters: one name repeated fifty times is weak evidence.
    trad = len(chars & trad_only)
    simp = len(chars & simp_only)
    if trad >= MIN_EVIDENCE and trad > 2 * simp:
        return "Hant"
    return "Hans"


def to_simplified(text: str | None, script: str | None) -> str | None:
    """Readable Simplified text (OpenCC phrase-level t2s) for Traditional pages; others unchanged."""
    if text is None or script != "Hant":
        return text
    return _converter().convert(text)


def simplify_chars(text: str) -> str:
    """Character-level t2s: the symmetric fold the matching key is built on."""
    return text.translate(_t2s_chars())


_KEY_DROP = re.compile(r"[\W_]+")


def match_key(text: str | None) -> str:
    """Simplified characters, lower-case, no punctuation, no whitespace, no paragraph breaks: what two
    copies of one story share after re-punctuation, re-spacing and a script switch."""
    if not text:
        return ""
    return _KEY_DROP.sub("", simplify_chars(text)).lower()
