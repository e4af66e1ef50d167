"""Small real slices of help.csv.gz (skipped cleanly when ../shared/data is absent)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

DEVICES = ("eyeriss", "pixel3", "titan_rtx_1", "gold_6226")


@pytest.fixture(scope="session")
def help_nb201(shared_data: Path) -> pd.DataFrame:
    """NB201 rows of four devices for architectures 0-239 (plus their arch_idx)."""
    df = pd.read_csv(
        shared_data / "latency" / "help.csv.gz",
        usecols=["space", "arch", "device", "latency_ms", "arch_idx"],
    )
    df = df[(df["space"] == "nasbench201") & df["device"].isin(DEVICES) & (df["arch_idx"] < 240)]
    return df.reset_index(drop=True)


@pytest.fixture(scope="session")
def help_csv(help_nb201: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tables") / "help-slice.csv"
    help_nb201.to_csv(path, index=False)
    return path


def _xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    x = pd.DataFrame({"model": "nasbench201:" + frame["arch"], "device": frame["device"]})
    return x.reset_index(drop=True), frame["latency_ms"].reset_index(drop=True)


@pytest.fixture(scope="session")
def xy() -> Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.Series]]:
    """Turns help rows into the estimator's ``(X, y)``."""
    return _xy


@pytest.fixture(scope="session")
def tiny() -> dict[str, int]:
    """Hyperparameters small enough for unit tests."""
    return {"n_estimators": 25, "cv_folds": 3, "n_factors": 2}
