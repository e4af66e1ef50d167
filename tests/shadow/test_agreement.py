"""Output agreement: max abs diff, relative diff, top-1 and cosine."""

from __future__ import annotations

import numpy as np
import pytest

from edgewise.shadow.gateway import Agreement


def test_identical_outputs_agree() -> None:
    p = np.random.default_rng(0).standard_normal((2, 10)).astype(np.float32)
    a = Agreement.of([p], [p.copy()])
    assert a.agree and a.top1_agree and a.max_abs_diff == 0.0 and a.cosine == pytest.approx(1.0)


def test_top1_decides_for_classifier_scores() -> None:
    p = np.array([[0.1, 0.7, 0.2]], np.float32)
    flipped = np.array([[0.7, 0.1, 0.2]], np.float32)
    a = Agreement.of([p], [flipped])
    assert a.top1_agree is False and not a.agree
    assert a.max_abs_diff == pytest.approx(0.6) and a.rel_diff == pytest.approx(0.6 / 0.7)


def test_regression_outputs_use_the_relative_tolerance() -> None:
    p = np.array([[100.0], [200.0]], np.float64)  # one value per row: no top-1
    close = Agreement.of([p], [p * 1.001])
    assert close.top1_agree is None and close.agree
    assert not Agreement.of([p], [p * 1.5]).agree


def test_shape_mismatch_and_nan_never_agree() -> None:
    p = np.zeros((1, 3), np.float32)
    assert not Agreement.of([p], [np.zeros((1, 4), np.float32)]).agree
    assert not Agreement.of([p], [np.full((1, 3), np.nan, np.float32)]).agree


def test_nan_where_production_has_nan_agrees() -> None:
    """A client that sends NaN makes both answers NaN: no fault of the candidate's."""
    nan = np.array([[np.nan, 1.0, np.inf]], np.float32)
    assert Agreement.of([nan], [nan.copy()]).agree  # identical bytes
    close = np.array([[np.nan, 1.001, np.inf]], np.float32)
    got = Agreement.of([nan], [close])
    assert got.agree and got.max_abs_diff is not None and got.max_abs_diff < 0.01
    assert not Agreement.of([nan], [np.array([[np.nan, 1.0, 5.0]], np.float32)]).agree
    assert not Agreement.of(
        [np.array([[0.0, 1.0]], np.float32)], [np.array([[np.nan, 1.0]], np.float32)]
    ).agree
