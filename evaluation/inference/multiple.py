"""Adjusting p-values when many wards × programmes × outcomes are tested at once.

Testing 13 wards × several outcomes at 5 % each would flag some "effects" by chance alone.
Holm (1979) controls the family-wise error rate (the chance of any false finding);
Benjamini & Hochberg (1995) controls the false discovery rate (the expected share of false
findings among those flagged). Both are computed by ``statsmodels.stats.multitest``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.errors import InferenceError

__all__ = ["adjust_pvalues", "METHODS"]

METHODS = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}


def adjust_pvalues(
    pvalues: Sequence[float] | pd.Series, method: str = "holm"
) -> np.ndarray | pd.Series:
    """Adjusted p-values (Holm: ``"holm"``; Benjamini–Hochberg: ``"bh"``; ``"bonferroni"``).

    Missing p-values (NaN) are left missing and do not count in the family. A Series keeps
    its index.
    """
    from statsmodels.stats.multitest import multipletests

    if method not in METHODS:
        raise InferenceError(
            f"argument 'method' must be one of {', '.join(METHODS)}, not {method!r}"
        )
    p = np.asarray(pvalues, dtype=float)
    if ((p < 0) | (p > 1)).any():
        raise InferenceError("p-values must lie between 0 and 1")
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=METHODS[method])[1]
    if isinstance(pvalues, pd.Series):
        return pd.Series(out, index=pvalues.index, name=f"p_{method}")
    return out
