"""Weights of the wild cluster bootstrap: the distributions, drawn in blocks or enumerated.

One weight per cluster and draw, from one of :data:`WEIGHT_TYPES`: ``"webb"``, Webb's (2014)
six-point distribution ±√1.5, ±1, ±√0.5 (the default, right with few clusters); ``"rademacher"``,
±1 with equal probability; ``"mammen"``, Mammen's (1993, *Annals of Statistics* 21(1)) skewed
two-point distribution; ``"norm"``, the standard normal. With G clusters there are only 2^G
Rademacher sign vectors and 6^G Webb weight vectors; when they fit within B they are all
enumerated and the p-value is exact over the enumeration (the smallest p-value that leaves with
few clusters: :mod:`evaluation.inference.wild`). Otherwise B vectors are drawn from the seed,
in blocks (G × m) that bound memory.
"""

from __future__ import annotations

import math

import numpy as np

WEIGHT_TYPES = ("webb", "rademacher", "mammen", "norm")

_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
_SQ5 = math.sqrt(5.0)
_MAMMEN = np.array([-(_SQ5 - 1) / 2, (_SQ5 + 1) / 2])
_MAMMEN_P_LOW = (_SQ5 + 1) / (2 * _SQ5)  # probability of the negative point
_NAMES = {"webb": "Webb", "rademacher": "Rademacher", "mammen": "Mammen", "norm": "normal"}

# Elements of one block of draws (G × m); bounds memory to a few tens of MB.
_BLOCK_ELEMENTS = 1 << 21


class _Draws:
    """Blocks of weight vectors (G × m), drawn with a seed or enumerated."""

    def __init__(self, weight_type: str, G: int, n: int, enumerated: bool, rng):
        self.weight_type = weight_type
        self.G = G
        self.n = n
        self.enumerated = enumerated
        self.rng = rng
        self.m = max(1, min(n, _BLOCK_ELEMENTS // G, 4096))

    def blocks(self):
        for start in range(0, self.n, self.m):
            m = min(self.m, self.n - start)
            yield start, self._make(start, m)

    def _make(self, start: int, m: int) -> np.ndarray:
        G = self.G
        if self.enumerated:
            idx = np.arange(start, start + m, dtype=np.int64)
            if self.weight_type == "rademacher":
                bits = (idx[None, :] >> np.arange(G, dtype=np.int64)[:, None]) & 1
                return 1.0 - 2.0 * bits
            powers = 6 ** np.arange(G, dtype=np.int64)
            return _WEBB[(idx[None, :] // powers[:, None]) % 6]
        rng = self.rng
        if self.weight_type == "rademacher":
            return (2.0 * rng.integers(0, 2, size=(m, G), dtype=np.int8) - 1.0).T
        if self.weight_type == "webb":
            return _WEBB[rng.integers(0, 6, size=(m, G), dtype=np.int8)].T
        if self.weight_type == "mammen":
            return np.where(rng.random((m, G)) < _MAMMEN_P_LOW, _MAMMEN[0], _MAMMEN[1]).T
        return rng.standard_normal((m, G)).T


def _weight_source(weight_type: str, G: int, B: int, seed) -> tuple[_Draws, bool]:
    base = {"rademacher": 2, "webb": 6}.get(weight_type)
    # math.log avoids forming 6**G for large G
    if base is not None and G * math.log(base) <= math.log(B):
        return _Draws(weight_type, G, base**G, True, None), True
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return _Draws(weight_type, G, int(B), False, rng), False
