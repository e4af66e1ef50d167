"""Model keys to features: ``space:arch`` through the fast path, ONNX files through the IR.

A model key is ``nasbench201:<arch>``, ``fbnet:<blocks>``, ``ofa_mbv3:<json>`` or a path
to an ONNX file.
Features are :data:`edgewise.graph.FEATURE_NAMES`; position features
(:data:`POSITION_NAMES`: where each heavy kernel and multiplication sits between the
graph's cut points) feed the per-device models only; kernel-signature counts feed the
kernel-additive model.

>>> fz = shared_featurizer()
>>> batch = fz.transform(["nasbench201:|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
>>> batch.features.shape[1] == len(FEATURE_NAMES)
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from edgewise.errors import ModelError
from edgewise.graph import FEATURE_NAMES
from edgewise.graph._fast import FBNetFeaturizer, NB201Featurizer, OFAFeaturizer, RawBatch
from edgewise.graph._position import POSITION_NAMES
from edgewise.graph.builders import split_spec

#: Index of the connectivity flag in the feature vector.
CONNECTED = FEATURE_NAMES.index("output_connected")


@dataclass(frozen=True)
class FeatureBatch:
    """Features ``(n, F)``, position features ``(n, P)`` and kernel-signature counts of
    ``n`` models."""

    features: np.ndarray
    signatures: list[Counter[str]]
    positions: np.ndarray

    @property
    def connected(self) -> np.ndarray:
        return self.features[:, CONNECTED] > 0


class ModelFeaturizer:
    """Featurizes model keys, caching per-space featurizers and ONNX graphs."""

    #: Space-architecture results kept in memory (a search revisits architectures).
    MAX_CACHED = 200_000

    def __init__(self) -> None:
        self._spaces: dict[str, Any] = {}
        self._onnx: dict[tuple[str, float], _Row] = {}
        self._archs: dict[str, _Row] = {}

    def _space(self, space: str) -> Any:
        if space not in self._spaces:
            fast = {
                "nasbench201": NB201Featurizer,
                "fbnet": FBNetFeaturizer,
                "ofa_mbv3": OFAFeaturizer,
            }.get(space)
            self._spaces[space] = fast() if fast is not None else OnnxSpaceFeaturizer(space)
        return self._spaces[space]

    def _onnx_one(self, path: str, shapes: Mapping[str, Any] | None) -> _Row:
        from edgewise.graph import load_graph

        p = Path(path)
        if not p.is_file():
            raise ModelError(f"model file not found: {path}")
        key = (str(p.resolve()), p.stat().st_mtime)
        if shapes is None and key in self._onnx:
            return self._onnx[key]
        out = _graph_row(load_graph(p, shapes=shapes))
        if shapes is None:
            self._onnx[key] = out
        return out

    def transform(
        self, models: Sequence[str], *, shapes: Mapping[str, Any] | None = None
    ) -> FeatureBatch:
        """Features of each model key (duplicates are computed once)."""
        unique = list(dict.fromkeys(models))
        by_space: dict[str, list[tuple[int, str]]] = {}
        rows: list[np.ndarray | None] = [None] * len(unique)
        sigs: list[Counter[str] | None] = [None] * len(unique)
        places: list[np.ndarray | None] = [None] * len(unique)
        for i, key in enumerate(unique):
            parts = split_spec(key)
            hit = self._archs.get(key) if parts is not None else None
            if hit is not None:
                rows[i], sigs[i], places[i] = hit
            elif parts is not None:
                by_space.setdefault(parts[0], []).append((i, parts[1]))
            elif key.lower().endswith(".onnx") or Path(key).is_file():
                rows[i], sigs[i], places[i] = self._onnx_one(key, shapes)
            else:
                raise ModelError(
                    f"not a model: {key!r:.100} (use an ONNX path, nasbench201:<arch>, "
                    "fbnet:<blocks> or ofa_mbv3:<json>)"
                )
        for space, items in by_space.items():
            raw: RawBatch = self._space(space).batch([a for _, a in items])
            if len(self._archs) + len(items) > self.MAX_CACHED:
                self._archs.clear()
            for (i, _), row, sig, place in zip(
                items, raw.features, raw.signatures, raw.positions, strict=True
            ):
                rows[i], sigs[i], places[i] = row, sig, place
                self._archs[unique[i]] = (row, sig, place)
        pos = {k: i for i, k in enumerate(unique)}
        order = [pos[k] for k in models]
        feats = (
            np.vstack([rows[i] for i in order])  # type: ignore[misc]
            if models
            else np.zeros((0, len(FEATURE_NAMES)))
        )
        positions = (
            np.vstack([places[i] for i in order])  # type: ignore[misc]
            if models
            else np.zeros((0, len(POSITION_NAMES)))
        )
        return FeatureBatch(
            features=feats,
            signatures=[sigs[i] for i in order],  # type: ignore[misc]
            positions=positions,
        )


_Row = tuple[np.ndarray, Counter[str], np.ndarray]


def _graph_row(g: Any) -> _Row:
    """One graph's features, kernel signatures and position features (the IR route)."""
    from edgewise.graph import graph_features, kernel_signatures
    from edgewise.graph._features import graph_positions

    feats = graph_features(g)
    return np.array([feats[n] for n in FEATURE_NAMES]), kernel_signatures(g), graph_positions(g)


class OnnxSpaceFeaturizer:
    """A space without a fast path: each architecture is built as ONNX and read by the
    IR, exactly as a user's ONNX file is, at the ONNX path's speed (a few graphs per
    second). Every space of :data:`~edgewise.graph.builders.BUILDERS` has a fast path
    now; this is the route for a new builder until it gets one (tests compare it with
    the OFA fast path)."""

    def __init__(self, space: str) -> None:
        from edgewise.graph.builders import BUILDERS

        self._build = BUILDERS[space][0]

    def batch(self, archs: Sequence[str]) -> RawBatch:
        from edgewise.graph import load_graph

        rows = [_graph_row(load_graph(self._build(a))) for a in archs]
        return RawBatch(
            features=np.array([r[0] for r in rows]).reshape(len(archs), len(FEATURE_NAMES)),
            signatures=[r[1] for r in rows],
            positions=np.array([r[2] for r in rows]).reshape(len(archs), len(POSITION_NAMES)),
        )


@lru_cache(maxsize=1)
def shared_featurizer() -> ModelFeaturizer:
    """One featurizer per process (the FBNet tables take a few seconds to build, the OFA
    ones about two per input resolution)."""
    return ModelFeaturizer()


class SignatureVocab:
    """Maps kernel signatures seen in training to sparse count columns."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._index = {n: i for i, n in enumerate(self.names)}

    @classmethod
    def fit(cls, signatures: Sequence[Counter[str]]) -> SignatureVocab:
        seen: dict[str, None] = {}
        for c in signatures:
            for k in c:
                seen.setdefault(k, None)
        return cls(sorted(seen))

    def transform(self, signatures: Sequence[Counter[str]]) -> Any:
        """A CSR matrix ``(n, len(names))`` of counts; unseen signatures are ignored."""
        from scipy import sparse

        get = self._index.get
        cols: list[int] = []
        vals: list[float] = []
        indptr = [0]
        for c in signatures:  # map() keeps the per-key work in C
            cols.extend(map(get, c, repeat(-1)))
            vals.extend(c.values())
            indptr.append(len(cols))
        col = np.asarray(cols, dtype=np.intp)
        val = np.asarray(vals, dtype=np.float64)
        ptr = np.asarray(indptr, dtype=np.intp)
        seen = col >= 0
        if not seen.all():  # drop signatures never trained on
            row = np.repeat(np.arange(len(signatures)), np.diff(ptr))
            ptr = np.concatenate([[0], np.cumsum(np.bincount(row[seen], minlength=len(ptr) - 1))])
            col, val = col[seen], val[seen]
        out = sparse.csr_matrix((val, col, ptr), shape=(len(signatures), len(self.names)))
        out.sort_indices()  # canonical, as from COO: products sum in the same order
        return out

    def columns(self, prefixes: Sequence[str]) -> np.ndarray | None:
        """Indices of the columns whose signature has one of ``prefixes``; None when
        that is every column (nothing to select)."""
        keep = [i for i, n in enumerate(self.names) if n[:2] in prefixes]
        return None if len(keep) == len(self.names) else np.asarray(keep, dtype=np.intp)

    def unseen_share(self, signatures: Sequence[Counter[str]]) -> np.ndarray:
        """Per model: the fraction of its live kernels whose signature was never trained on."""
        out = np.zeros(len(signatures))
        for r, c in enumerate(signatures):
            live = {k: v for k, v in c.items() if k.startswith("l:")}
            total = sum(live.values())
            if total:
                out[r] = sum(v for k, v in live.items() if k not in self._index) / total
        return out
