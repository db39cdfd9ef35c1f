"""The real Fourier basis over the p input tokens, and W_E in it (SPEC section 5.4).

Basis rows (orthonormal, so coefficients keep norms and energies add up):

    row 0           constant          1 / sqrt(p)
    row 2k - 1      cos(2 pi k x / p) * sqrt(2 / p)     k = 1 .. (p - 1) // 2
    row 2k          sin(2 pi k x / p) * sqrt(2 / p)
    row p - 1       cos(pi x) / sqrt(p)                  only when p is even (Nyquist)

The key-frequency rule (``key_frequencies``), exactly:

1. Project the token embeddings on the basis: C = B @ W_E[:p], and give each frequency
   k >= 1 its energy E_k = ||C_cos k||^2 + ||C_sin k||^2. The constant row is the mean
   token embedding, not a frequency, and never key.
2. Null hypothesis "no periodic structure": the token embeddings are exchangeable, so
   after the orthonormal change of basis each non-constant row of C is an independent
   draw from one d-dimensional distribution with covariance S. Then E_k is close to a
   scaled chi-square, c * chi2(nu) with nu = rows(k) * d_eff, d_eff = tr(S)^2 / tr(S^2)
   (the participation ratio; exact for an untrained Gaussian W_E, where d_eff = d).
3. Estimate c and d_eff from the frequencies believed to be noise: first robustly (c from
   the 25th percentile of E, so up to three quarters of the frequencies may be key), then
   from the mean of the non-key ones, repeating until the key set is stable.
4. A frequency is key when E_k > c * chi2_quantile(1 - alpha / n_freq, nu) (a Bonferroni
   bound: with probability about 1 - alpha an unstructured W_E has none) and E_k is not
   numerically zero (> 1e-6 of the total energy). alpha = 1e-3 by default.

So an untrained model and a ``basis`` model (no periodicity) give none, a W_E built from
chosen frequencies gives exactly those, and ``nanda``'s few large frequencies stand out
against the near-zero rest that weight decay leaves.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from jaxtyping import Float, Int


def fourier_basis(p: int) -> Float[np.ndarray, "p p"]:
    """Orthonormal real Fourier basis over 0 .. p-1, one basis vector per row."""
    x = np.arange(p)
    rows = [np.full(p, 1.0 / np.sqrt(p))]
    for k in range(1, (p - 1) // 2 + 1):
        rows.append(np.cos(2 * np.pi * k * x / p) * np.sqrt(2.0 / p))
        rows.append(np.sin(2 * np.pi * k * x / p) * np.sqrt(2.0 / p))
    if p % 2 == 0:
        rows.append(np.cos(np.pi * x) / np.sqrt(p))
    return np.stack(rows)


def basis_freqs(p: int) -> Int[np.ndarray, " p"]:
    """Frequency of each basis row (0 for the constant)."""
    return np.array([0] + [k for k in range(1, (p - 1) // 2 + 1) for _ in (0, 1)] + ([p // 2] if p % 2 == 0 else []))


def basis_names(p: int) -> list[str]:
    names = ["const"] + [f"{f}{k}" for k in range(1, (p - 1) // 2 + 1) for f in ("cos", "sin")]
    return names + ([f"cos{p // 2}"] if p % 2 == 0 else [])


def to_fourier(w: Float[np.ndarray, "p ..."]) -> Float[np.ndarray, "p ..."]:
    """Coefficients of ``w`` (token axis first) in the Fourier basis."""
    w = np.asarray(w, np.float64)
    return np.tensordot(fourier_basis(w.shape[0]), w, axes=(1, 0))


def fourier_2d(grids: Float[np.ndarray, "n p p"]) -> Float[np.ndarray, "n p p"]:
    """B A B^T for each grid: coefficient [a, b] of basis row a over x0 and row b over x1."""
    b = fourier_basis(grids.shape[-1])
    return b @ np.asarray(grids, np.float64) @ b.T


def freq_energy(coeffs: Float[np.ndarray, "p d"]) -> Float[np.ndarray, " freq"]:
    """Energy per frequency 0 .. p // 2 from basis coefficients (rows of one frequency summed)."""
    p = coeffs.shape[0]
    rowe = (np.asarray(coeffs, np.float64) ** 2).reshape(p, -1).sum(-1)
    return np.bincount(basis_freqs(p), weights=rowe, minlength=p // 2 + 1)


def chi2_quantile(q: float, nu: float) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (within 2 % for nu >= 16, 5 % for nu >= 4, out to the 1 - 1e-5 quantile)."""
    z = NormalDist().inv_cdf(q)
    a = 2.0 / (9.0 * nu)
    return float(nu * max(1.0 - a + z * np.sqrt(a), 0.0) ** 3)


def participation_ratio(rows: Float[np.ndarray, "n d"]) -> float:
    """tr(S)^2 / tr(S^2) for the second-moment matrix S of ``rows``: effective dimensions."""
    s2 = np.linalg.svd(np.asarray(rows, np.float64), compute_uv=False) ** 2
    tot = s2.sum()
    return float(tot**2 / (s2**2).sum()) if tot > 0 else 1.0


def key_frequencies(w: Float[np.ndarray, "p d"], alpha: float = 1e-3, max_iter: int = 50) -> list[int]:
    """Key frequencies (1 .. p // 2) of token embeddings ``w`` (tokens only); rule in the module doc."""
    p = w.shape[0]
    coeffs = to_fourier(w)
    freqs = basis_freqs(p)
    energy = freq_energy(coeffs)[1:]  # frequencies 1 .. p // 2
    n_rows = np.bincount(freqs, minlength=p // 2 + 1)[1:]
    if energy.size == 0 or energy.sum() <= 0:
        return []
    floor = 1e-6 * energy.sum()
    q_key = 1.0 - alpha / energy.size

    def dof(noise: np.ndarray) -> np.ndarray:
        rows = coeffs[np.isin(freqs, 1 + np.flatnonzero(noise))]
        return n_rows * participation_ratio(rows) if len(rows) else n_rows * float(w.shape[1])

    # E_k ~ c * chi2(nu_k) under the null; start c from the lower quartile (robust to key ones)
    nu = dof(np.ones_like(energy, bool))
    nu_mid = float(np.median(nu))
    c = float(np.quantile(energy, 0.25)) / chi2_quantile(0.25, nu_mid)
    key = np.zeros_like(energy, bool)
    for _ in range(max_iter):
        thresh = c * np.array([chi2_quantile(q_key, v) for v in nu])
        new = (energy > thresh) & (energy > floor)
        if new.all() or (new == key).all():
            key = new
            break
        key = new
        nu = dof(~key)
        c = float((energy[~key] / nu[~key]).mean())
    return [int(k) + 1 for k in np.flatnonzero(key)]


def embedding_fourier(w: Float[np.ndarray, "p d"], alpha: float = 1e-3) -> dict:
    """Norm of every basis component and of every frequency of W_E, and the key frequencies."""
    coeffs = to_fourier(w)
    return {
        "basis": basis_names(w.shape[0]),
        "norms": np.linalg.norm(coeffs, axis=1).tolist(),
        "freq_norms": np.sqrt(freq_energy(coeffs)).tolist(),
        "key_freqs": key_frequencies(w, alpha),
        "alpha": alpha,
    }
