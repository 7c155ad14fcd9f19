"""Simplified (Hans) or Traditional (Hant) script, from frequent characters that differ between them.

A fixed table of very common pairs is enough to tell the two apart on a paragraph and costs nothing,
where a full OpenCC conversion of the body would take milliseconds.
"""

from __future__ import annotations

_HANT = set("們這個來說時會為國對發經點學後與實過還當開關問無體現進區義從長東車門頭電後裡麼於網發臺灣"
            "記者導報價產業總書據機應動華調數權號處單話請將離歲戰傳錢聽讀見萬業務論習幾層員")
_HANS = set("们这个来说时会为国对发经点学后与实过还当开关问无体现进区义从长东车门头电后里么于网发台湾"
            "记者导报价产业总书据机应动华调数权号处单话请将离岁战传钱听读见万业务论习几层员")
_HANT, _HANS = _HANT - _HANS, _HANS - _HANT


def detect_script(text: str) -> str | None:
    """'Hans', 'Hant', or None when the text has no Chinese."""
    hant = hans = 0
    for ch in text[:5000]:
        if ch in _HANT:
            hant += 1
        elif ch in _HANS:
            hans += 1
    if hant == hans == 0:
        return "Hans" if any("\u4e00" <= c <= "\u9fff" for c in text[:2000]) else None
    return "Hant" if hant > hans else "Hans"
