"""MinHash signatures over character shingles, and LSH band keys, in numpy.

Own implementation rather than datasketch's MinHash: shingles are hashed in one vectorised pass over
the code points, and the signature is a one-permutation MinHash (see `signature`). datasketch took
3.9 ms per 4,000-character body here, 128 permutations; this takes well under 0.2 ms
(benchmarks/dedup.py prints both). Hashing is fixed (no random seed, no Python `hash`), so signatures
agree across processes and runs — they are stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SHINGLE = 4
NUM_PERM = 128
BANDS = 8
ROWS = 2
BAND_SHINGLE = 8
_MASK32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class LshParams:
    """Two sketches per body. The similarity estimate uses `num_perm` bins over `shingle`-character
    shingles. The LSH keys use longer shingles (`band_shingle`) and few bands: on the embedded server
    each multikey index entry costs ~0.04 ms to write and each `$in` key ~0.025 ms to look up, so 32
    bands would spend the whole 2 ms budget on the index. Eight-character shingles are almost never
    shared by unrelated stories (no flood of candidates with rows=2), while copies — whose edits are
    whole paragraphs, punctuation and script, all invisible or local in the key — keep most of them."""

    num_perm: int = NUM_PERM
    shingle: int = SHINGLE
    bands: int = BANDS
    rows: int = ROWS
    band_shingle: int = BAND_SHINGLE

    @property
    def band_bins(self) -> int:
        return 1 << max(0, (self.bands * self.rows - 1).bit_length())


DEFAULT = LshParams()


def shingle_hashes(key: str, k: int = SHINGLE) -> np.ndarray:
    """Sorted 64-bit hashes of the k-character shingles of `key` (one shingle if shorter). Repeats are
    kept: a bin's minimum does not care, and np.unique costs 5x a plain sort."""
    if not key:
        return np.zeros(0, dtype=np.uint64)
    cps = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(cps) < k:
        k = len(cps)
    n = len(cps) - k + 1
    h = np.full(n, np.uint64(0xCBF29CE484222325))
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = (h ^ cps[j : j + n]) * prime
        # A final avalanche so shingles differing in the last character spread over all 64 bits.
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    h.sort()
    return h


def signature(key: str, params: LshParams = DEFAULT) -> np.ndarray:
    """The similarity sketch: `num_perm` bins over `shingle`-character shingles."""
    return oph(shingle_hashes(key, params.shingle), params.num_perm)


def oph(hashes: np.ndarray, k: int) -> np.ndarray:
    """uint32 one-permutation MinHash signature of the key's shingles (all-ones for an empty key).

    One-permutation hashing (Li, Owen & Zhang 2012) with rotation densification (Shrivastava & Li
    2014): each shingle hash is put in one of `num_perm` bins by its top bits and each bin keeps its
    smallest hash. Because `shingle_hashes` returns the hashes sorted, the minimum of each bin is the
    first hash in it, found by one binary search per bin: ~50x cheaper than `num_perm` full permutations
    (datasketch) for the same estimator of Jaccard similarity.
    """
    if hashes.size == 0:
        return np.full(k, 0xFFFFFFFF, dtype=np.uint32)
    shift = np.uint64(64 - (k.bit_length() - 1))
    bins = hashes >> shift
    first = np.searchsorted(bins, np.arange(k, dtype=np.uint64))
    present = first < len(hashes)
    present[present] = bins[first[present]] == np.arange(k, dtype=np.uint64)[present]
    sig = np.zeros(k, dtype=np.uint64)
    # The 32 bits just below the bin bits identify the bin's minimum.
    sig[present] = (hashes[first[present]] >> (shift - np.uint64(32))) & _MASK32
    if not present.all():
        sig = _densify(sig, present)
    return sig.astype(np.uint32)


def _densify(sig: np.ndarray, present: np.ndarray) -> np.ndarray:
    """An empty bin borrows the next non-empty bin (circularly), offset by the distance, so two sets with
    the same empty bins still agree exactly where their neighbours agree."""
    k = len(sig)
    filled = np.flatnonzero(present)
    idx = np.arange(k)
    pos = np.searchsorted(filled, idx) % len(filled)
    donor = filled[pos]
    dist = (donor - idx) % k
    with np.errstate(over="ignore"):
        out = (sig[donor] + dist.astype(np.uint64) * np.uint64(0x9E3779B1)) & _MASK32
    out[present] = sig[present]
    return out


def band_keys(key: str, params: LshParams = DEFAULT) -> list[int]:
    """One signed 64-bit key per band (band index mixed in), for a multikey index in MongoDB."""
    rows = params.rows
    sig = oph(shingle_hashes(key, params.band_shingle), params.band_bins)
    raw = sig.astype("<u4").tobytes()
    keys = []
    for band in range(params.bands):
        chunk = raw[band * rows * 4 : (band + 1) * rows * 4]
        digest = hashlib.blake2b(chunk, digest_size=8, person=band.to_bytes(2, "little")).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4")
