"""Shared fixtures: the public reference data sets in ../shared/reference-data/.

They are read from there, never copied into the project; where the folder is absent the tests
that need them are skipped with the reason.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference-data"


def reference_file(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference data set not found: {path} (../shared/reference-data is absent)")
    return path


@pytest.fixture(scope="session")
def mpdta_raw() -> pd.DataFrame:
    """County teen employment, 500 counties × 2003–2007 (the R `did` package's example)."""
    d = pd.read_csv(reference_file("mpdta.csv"))
    d["cohort"] = d["first.treat"].replace(0, np.nan)  # 0 = never treated in the R package
    return d


@pytest.fixture
def mpdta(mpdta_raw) -> pd.DataFrame:
    return mpdta_raw.copy()


@pytest.fixture(scope="session")
def prop99_raw() -> pd.DataFrame:
    """Cigarette sales, 39 states × 1970–2000; California's Proposition 99 from 1989."""
    df = pd.read_csv(reference_file("california_prop99.csv"), sep=";")
    first = df[df["treated"] == 1].groupby("State")["Year"].min()
    df["cohort"] = df["State"].map(first)  # NaN for the 38 never-treated states
    return df


@pytest.fixture
def prop99(prop99_raw) -> pd.DataFrame:
    return prop99_raw.copy()
