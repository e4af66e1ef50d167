"""Device sharing: low-rank factors of the (model x device) log-latency matrix.

``log t(model, device) ~ mu[device] + u(model) . v[device]``. The device vectors ``v``
are device embeddings learned from every device's latencies; ``u`` is predicted from
graph features by one LightGBM per factor, so unseen graphs get factors too. A new
device needs only ``mu`` and ``v``: a ridge fit on a few measured models (few-shot).

>>> sf = SharedFactors(n_factors=2)
>>> sf.n_factors
2
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from edgewise.errors import ConfigError, DataError
from edgewise.predict._pipelines import GbmParams, booster_from_text, train_booster


def soft_impute(m: np.ndarray, rank: int, *, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``rank`` factors ``(scores, loadings)`` of ``m`` with NaNs filled iteratively."""
    missing = np.isnan(m)
    z = np.where(missing, 0.0, m)
    for _ in range(iters if missing.any() else 1):
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        approx = (u[:, :rank] * s[:rank]) @ vt[:rank]
        if not missing.any():
            break
        z = np.where(missing, approx, m)
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    return u[:, :rank] * s[:rank], vt[:rank].T


class SharedFactors:
    """Learns device embeddings and a graph-to-factor model from many devices."""

    def __init__(self, *, n_factors: int = 8, params: GbmParams | None = None) -> None:
        self.n_factors = n_factors
        self.params = params or GbmParams()
        self.devices: list[str] = []
        self.mu = np.zeros(0)
        self.v = np.zeros((0, 0))
        self.boosters: list[Any] = []
        self.noise_var = 0.01

    @property
    def rank(self) -> int:
        return int(self.v.shape[1]) if self.v.size else 0

    def fit(
        self,
        f_models: np.ndarray,
        model_index: np.ndarray,
        device_index: np.ndarray,
        y_log: np.ndarray,
        devices: list[str],
    ) -> SharedFactors:
        """Fit on long-format rows: model ``model_index`` (a row of ``f_models``) on device
        ``devices[device_index]`` took ``exp(y_log)`` ms."""
        n_models, n_dev = f_models.shape[0], len(devices)
        if n_dev < 2:
            raise ConfigError("device sharing needs at least two devices")
        m = np.full((n_models, n_dev), np.nan)
        m[model_index, device_index] = y_log
        seen = ~np.isnan(m)
        self.mu = np.array([np.nanmean(m[:, d]) if seen[:, d].any() else 0.0 for d in range(n_dev)])
        centred = m - self.mu
        rows = seen.any(axis=1)
        if rows.sum() < 2:  # LightGBM cannot train on one row (LightGBMError, exit 1)
            raise DataError(
                f"training needs latencies of at least two different models, got {int(rows.sum())}"
            )
        rank = max(1, min(self.n_factors, n_dev - 1, int(rows.sum()) - 1))
        scores, self.v = soft_impute(centred[rows], rank)
        self.devices = list(devices)
        self.boosters = [
            train_booster(self.params, "regression", f_models[rows], scores[:, k])
            for k in range(rank)
        ]
        u = self.factors(f_models)
        fitted = self.mu[device_index] + np.einsum("ij,ij->i", u[model_index], self.v[device_index])
        self.noise_var = float(np.mean((y_log - fitted) ** 2))
        return self

    def factors(self, f: np.ndarray) -> np.ndarray:
        """Predicted factors ``u`` ``(n, rank)`` of models with features ``f``."""
        if not self.boosters:
            return np.zeros((f.shape[0], 0))
        return np.column_stack([b.predict(f, num_threads=1) for b in self.boosters])

    def predict(self, u: np.ndarray, device: str) -> np.ndarray:
        d = self.devices.index(device)
        return cast("np.ndarray", self.mu[d] + u @ self.v[d])

    def adapt(self, u: np.ndarray, y_log: np.ndarray) -> tuple[float, np.ndarray]:
        """``(mu, v)`` of a new device from a few models' factors ``u`` and log latencies.

        Bayesian linear regression: the prior on ``(mu, v)`` is the mean and covariance
        of the training devices' embeddings, the noise variance their residual variance.
        """
        if u.shape[0] == 0:
            raise ConfigError("adapting to a device needs at least one measurement")
        mean, cov = self.prior()
        phi = np.column_stack([np.ones(u.shape[0]), u])
        noise = max(self.noise_var, 1e-8)
        prec = np.linalg.inv(cov)
        a = phi.T @ phi / noise + prec
        post = np.linalg.solve(a, phi.T @ y_log / noise + prec @ mean)
        return float(post[0]), post[1:]

    def prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the training devices' ``(mu, v)``: the prior of a new device."""
        w = np.column_stack([self.mu, self.v])
        cov = np.cov(w.T) if w.shape[0] > 1 else np.eye(w.shape[1])
        return w.mean(axis=0), np.atleast_2d(cov) + 1e-6 * np.eye(w.shape[1])

    def design(self, u: np.ndarray, k: int, *, n_reference: int = 2000) -> list[int]:
        """Which ``k`` rows of ``u`` (candidate models' factors) to measure on a new device,
        in order of choice.

        Greedy I-optimal design for :meth:`adapt`: each step takes the candidate that most
        reduces the posterior predictive variance of ``log t`` averaged over the candidates
        (an evenly spaced subset of at most ``n_reference`` of them), under the prior of
        :meth:`prior` and the training residual variance. It uses only the training
        devices, never a measurement of the new device; it is deterministic, and the first
        ``j`` of a ``k``-design are the ``j``-design.

        >>> sf.design(sf.factors(features_of_candidates), 10)   # doctest: +SKIP
        """
        n = u.shape[0]
        if not 1 <= k <= n:
            raise ConfigError(f"cannot choose {k} shots from {n} candidates")
        phi = np.column_stack([np.ones(n), u])
        ref = phi[np.linspace(0, n - 1, min(n, n_reference)).round().astype(int)]
        _, sigma = self.prior()
        sigma = sigma / max(self.noise_var, 1e-8)  # posterior covariance, in noise units
        chosen: list[int] = []
        for _ in range(k):
            pa = phi @ sigma
            gain = ((ref @ sigma @ phi.T) ** 2).sum(axis=0) / (1.0 + np.einsum("ij,ij->i", pa, phi))
            gain[chosen] = -np.inf
            c = int(np.argmax(gain))
            chosen.append(c)
            sx = sigma @ phi[c]
            sigma = sigma - np.outer(sx, sx) / (1.0 + phi[c] @ sx)
        return chosen

    def loo_scale(self, u: np.ndarray, y_log: np.ndarray, *, floor: float = 0.02) -> float:
        """RMS leave-one-out log error of :meth:`adapt` on its own shots (at least
        ``floor``): how noisy the device looks from the few measurements we have."""
        mu, v = self.adapt(u, y_log)
        _, cov = self.prior()
        phi = np.column_stack([np.ones(u.shape[0]), u])
        noise = max(self.noise_var, 1e-8)
        a = phi.T @ phi / noise + np.linalg.inv(cov)
        hat = np.einsum("ij,ji->i", phi, np.linalg.solve(a, phi.T)) / noise
        resid = y_log - (mu + u @ v)
        loo = resid / np.clip(1 - hat, 1e-3, None)
        return max(float(np.sqrt(np.mean(loo**2))), floor)

    def state(self) -> dict[str, Any]:
        return {
            "n_factors": self.n_factors,
            "devices": self.devices,
            "mu": self.mu.tolist(),
            "v": self.v.tolist(),
            "noise_var": self.noise_var,
            "boosters": [b.model_to_string() for b in self.boosters],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], params: GbmParams) -> SharedFactors:
        sf = cls(n_factors=int(state["n_factors"]), params=params)
        sf.devices = list(state["devices"])
        sf.mu = np.asarray(state["mu"], dtype=np.float64)
        sf.v = np.asarray(state["v"], dtype=np.float64).reshape(len(sf.devices), -1)
        sources = state.get("booster_sources") or [""] * len(state["boosters"])
        sf.boosters = [
            booster_from_text(t, n) for t, n in zip(state["boosters"], sources, strict=True)
        ]
        sf.noise_var = float(state["noise_var"])
        return sf
