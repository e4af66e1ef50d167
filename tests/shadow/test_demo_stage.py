"""The demo stage shadows a slower variant on loopback and returns lines and a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgewise.runtime import BackendConfig, load_model_info, open_backend
from edgewise.shadow import demo_section
from edgewise.shadow._demo import slower_variant
from edgewise.store import Store


def test_slower_variant_keeps_the_outputs(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    prod = model_path("cnn-small")
    slow = slower_variant(prod, tmp_path / "slow.onnx")
    x = {"image": np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)}
    outs = [
        open_backend(load_model_info(p), config=BackendConfig(threads=1)).run(x)[0]
        for p in (prod, slow)
    ]
    np.testing.assert_array_equal(outs[0], outs[1])
    assert load_model_info(slow).sha256 != load_model_info(prod).sha256


def test_demo_section_shadows_and_plots(tmp_path: Path, fresh_store: Store) -> None:
    section = demo_section(workdir=tmp_path, store=fresh_store)
    assert section.title == "Shadow and judge"
    text = "\n".join(section.lines)
    assert " 0 failed" in text and "Judge:" in text
    assert len(section.figures_html) == 1 and "paired request" in section.figures_html[0]
    runs = fresh_store.list_shadow_runs()
    assert len(runs) == 1 and fresh_store.count_shadow_pairs(runs[0].id) > 0  # type: ignore[arg-type]
