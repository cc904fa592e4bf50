"""R's random numbers, so that simulated critical values match R's ``HonestDiD`` draw for draw.

R's ``HonestDiD`` (Rambachan & Roth 2023, "A More Credible Approach to Parallel Trends",
*Review of Economic Studies* 90(5)) simulates two quantities after ``set.seed(seed)``: the
least-favourable critical value of the C-LF test (``mvtnorm::rmvnorm``, used in :mod:`.arp`)
and the folded-normal quantile of the FLCI (10⁶ ``rnorm`` draws, used in :mod:`.smoothness`).
This module reproduces R's stream with R's default RNG kinds: the Mersenne-Twister seeded as R
seeds it, normals by inversion, and ``rmvnorm``'s symmetric (eigen) square root.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_R_STREAMS: dict[int, np.ndarray] = {}


def _r_normals(n: int, seed: int) -> np.ndarray:
    """The first ``n`` values of R's ``set.seed(seed); rnorm(n)`` (default RNG kinds).

    R seeds its Mersenne-Twister by 50 rounds of the LCG ``69069 s + 1`` and then fills the 624
    state words with the same LCG (the first word is overwritten by the position, 624); normals
    are drawn by inversion from two uniforms (``BIG = 2^27``), as in R's ``norm_rand``. R
    re-seeds before every simulation, so each one reads the start of the same stream: it is
    kept per seed (read-only) and extended when a longer prefix is needed.
    """
    stream = _R_STREAMS.get(seed)
    if stream is None or stream.size < n:
        stream = _R_STREAMS[seed] = _r_normal_stream(max(n, 16_384), seed)
        stream.flags.writeable = False
    return stream[:n]


def _r_normal_stream(n: int, seed: int) -> np.ndarray:
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    key = np.empty(625, dtype=np.uint32)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        key[j] = s
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": {"key": key[1:], "pos": 624}}
    u = bitgen.random_raw(2 * n).astype(np.float64) * 2.3283064365386963e-10
    half = 0.5 * 2.328306437080797e-10  # R's fixup keeps uniforms inside (0, 1)
    u = np.where(u <= 0.0, half, np.where(1.0 - u <= 0.0, 1.0 - half, u))
    big = 134217728.0
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


def _r_mvnorm_draws(sigma: np.ndarray, n_sims: int, seed: int) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n_sims, sigma = sigma)`` (method "eigen")."""
    p = sigma.shape[0]
    vals, vecs = np.linalg.eigh(sigma)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T  # symmetric: sign-free
    z = _r_normals(n_sims * p, seed).reshape(n_sims, p)  # rmvnorm fills by row
    return z @ root
