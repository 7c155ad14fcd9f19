"""MinHash signatures and LSH band keys: stable, and close to the true Jaccard similarity."""

from __future__ import annotations

import random

import numpy as np

from newscrawler.dedup.minhash import (
    DEFAULT,
    band_keys,
    from_bytes,
    jaccard,
    signature,
    to_bytes,
)

HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HAN) for _ in range(n))


def shingles(s: str, k: int = 4) -> set[str]:
    return {s[i : i + k] for i in range(len(s) - k + 1)}


def test_signature_is_deterministic_and_round_trips():
    s = "国务院总理在政府工作报告中说今年发展主要预期目标是国内生产总值增长左右"
    a, b = signature(s), signature(s)
    assert a.dtype == np.uint32 and len(a) == DEFAULT.num_perm
    assert (a == b).all()
    assert (from_bytes(to_bytes(a)) == a).all()
    # Fixed, not seeded per process: a stored signature must match one computed next year.
    assert band_keys(s) == band_keys(s) and len(band_keys(s)) == DEFAULT.bands


def test_estimate_tracks_true_jaccard():
    rng = random.Random(7)
    errors = []
    for _ in range(60):
        base = text(rng, rng.randint(300, 3000))
        cut = rng.randint(0, len(base))
        other = base[:cut] + text(rng, rng.randint(0, 2000))
        true = len(shingles(base) & shingles(other)) / len(shingles(base) | shingles(other))
        errors.append(jaccard(signature(base), signature(other)) - true)
    assert abs(float(np.mean(errors))) < 0.02
    assert float(np.std(errors)) < 0.06


def test_identical_and_unrelated_texts():
    rng = random.Random(1)
    a, b = text(rng, 800), text(rng, 800)
    assert jaccard(signature(a), signature(a)) == 1.0
    assert jaccard(signature(a), signature(b)) < 0.05
    assert not set(band_keys(a)) & set(band_keys(b))


def test_short_and_empty_keys_do_not_crash():
    assert jaccard(signature(""), signature("")) == 1.0
    assert len(signature("短")) == DEFAULT.num_perm


def test_figures_in_their_slots_tell_templates_from_copies():
    from newscrawler.dedup.engine import Thresholds, figures_agree, numbers

    t = Thresholds()
    day = "郑州7月{d}日天气：最高气温{h}℃，最低气温{lo}℃，东北风{w}级，空气质量指数{a}。"
    one, two = numbers(day.format(d=15, h=31, lo=22, w=3, a=80)), numbers(day.format(d=16, h=29, lo=20, w=2, a=65))
    assert numbers("最高气温31℃") == ["气温|31"]
    assert not figures_agree(one, two, t)
    # A copy with a boilerplate date and an added lead keeps the figures it shares.
    copy = numbers("发布时间：2024-05-12 10:33\n编者按：全市有3个区县。\n" + day.format(d=15, h=31, lo=22, w=3, a=80))
    assert figures_agree(one, copy, t)
    assert figures_agree(["气温|1"], ["气温|2"], t)  # too few figures to judge
