"""Simplified (Hans) or Traditional (Hant) script, and OpenCC's character tables it is told from.

Extraction names the script once (Article.script); the normalise stage reuses it and converts with
OpenCC (newscrawler/normalise/script.py), building its character-level matching key on the same tables.
The tables are OpenCC's own text dictionaries (opencc_data/, Apache-2.0), as the official binding ships
them compiled only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DATA_DIR = Path(__file__).with_name("opencc_data")
# Traditional → Simplified, in OpenCC's t2s order: TSCharactersExt (rare characters) before TSCharacters.
T2S_TABLES = ("TSCharactersExt.txt", "TSCharacters.txt")
# A page needs this many distinct characters that exist only in Traditional writing before we call it so.
MIN_EVIDENCE = 3


def opencc_table(*names: str) -> dict[str, str]:
    """Character → its first conversion, from OpenCC text dictionaries; the first file listing a
    character wins (OpenCC's short-circuit order). Characters that convert to themselves are left out."""
    table: dict[str, str] = {}
    for name in names:
        with (_DATA_DIR / name).open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2 and len(parts[0]) == 1 and parts[0] not in table:
                    table[parts[0]] = parts[1].split(" ")[0]
    return {k: v for k, v in table.items() if v and v != k}


@lru_cache(maxsize=1)
def _script_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Characters that exist only in Traditional, and only in Simplified writing."""
    ts = opencc_table(*T2S_TABLES)
    st = opencc_table("STCharacters.txt")
    trad_only = frozenset(ch for ch in ts if ch not in st)
    simp_only = frozenset(ch for ch in st if ch not in ts)
    return trad_only, simp_only


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def beyond_bmp(text: str) -> bool:
    """Whether the text holds characters beyond the BMP (which regex character classes handle slowly).
    An encode in C: a regex range test cost 10 µs on a 470-character body, max() 46 µs."""
    return len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)


class _CharSet:
    """Which characters of a set a text holds, found by a regex character class (C speed: set(text) cost
    60 µs on a 550-character body, it makes a string object per character). Characters beyond the BMP are
    looked up separately: in a character class they made every search 50× slower."""

    def __init__(self, chars: frozenset[str]) -> None:
        bmp = "".join(sorted(c for c in chars if c <= "\uffff"))
        self._bmp = re.compile("[" + re.escape(bmp) + "]") if bmp else None
        self._wide = frozenset(c for c in chars if c > "\uffff")

    def distinct_in(self, text: str) -> set[str]:
        found = set(self._bmp.findall(text)) if self._bmp is not None else set()
        if self._wide and beyond_bmp(text):
            found |= self._wide.intersection(text)
        return found


@lru_cache(maxsize=1)
def _script_chars() -> tuple[_CharSet, _CharSet]:
    trad_only, simp_only = _script_sets()
    return _CharSet(trad_only), _CharSet(simp_only)


def detect_script(text: str | None) -> str | None:
    """'Hant', 'Hans', or None when the text is not Chinese. Mixed text goes with the majority."""
    if not text or not _HAN.search(text):
        return None
    trad_chars, simp_chars = _script_chars()
    # Count distinct characters: one name repeated fifty times is weak evidence.
    trad = len(trad_chars.distinct_in(text))
    if trad < MIN_EVIDENCE:
        return "Hans"  # Simplified text (most pages) is settled without looking for Simplified characters
    simp = len(simp_chars.distinct_in(text))
    return "Hant" if trad > 2 * simp else "Hans"
