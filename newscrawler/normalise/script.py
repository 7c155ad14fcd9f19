"""Traditional → Simplified: readable text (OpenCC's phrase-level t2s) and the Simplified matching key.

The script itself is named once, by extraction (newscrawler/extract/script.py, Article.script); the
character tables both use are OpenCC's, read there.

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

import opencc

from newscrawler.extract.script import T2S_TABLES, opencc_table
from newscrawler.normalise.text import bmp_class, translate_sparse


@lru_cache(maxsize=1)
def _t2s_chars() -> dict[int, str]:
    return {ord(k): v for k, v in opencc_table(*T2S_TABLES).items()}


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # The official binding (C++): 0.19 ms per 2,640 characters where opencc-python-reimplemented took
    # 12.2 ms, the same Traditional bodies back to back on this machine (issue 11 measured 0.34 vs 32 ms
    # on a loaded one).
    return opencc.OpenCC("t2s.json")


def to_simplified(text: str | None, script: str | None) -> str | None:
    """Readable Simplified text (OpenCC phrase-level t2s) for Traditional pages; others unchanged."""
    if text is None or script != "Hant":
        return text
    return _converter().convert(text)


@lru_cache(maxsize=1)
def _t2s_pattern() -> re.Pattern[str]:
    return bmp_class(_t2s_chars())


def simplify_chars(text: str) -> str:
    """Character-level t2s: the symmetric fold the matching key is built on. (Its input is mostly
    Simplified already, the phrase-level output for Traditional pages: few characters change.)"""
    return translate_sparse(text, _t2s_chars(), _t2s_pattern())


_KEY_DROP = re.compile(r"[\W_]+")


def match_key(text: str | None) -> str:
    """Simplified characters, lower-case, no punctuation, no whitespace, no paragraph breaks: what two
    copies of one story share after re-punctuation, re-spacing and a script switch."""
    if not text:
        return ""
    return _KEY_DROP.sub("", simplify_chars(text)).lower()
