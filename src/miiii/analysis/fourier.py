"""The real Fourier basis over the p input tokens, and W_E in it (docs/analysis.md; docs/key-frequencies.md).

Basis rows (orthonormal, so coefficients keep norms and energies add up):

    row 0           constant          1 / sqrt(p)
    row 2k - 1      cos(2 pi k x / p) * sqrt(2 / p)     k = 1 .. (p - 1) // 2
    row 2k          sin(2 pi k x / p) * sqrt(2 / p)
    row p - 1       cos(pi x) / sqrt(p)                  only when p is even (Nyquist)

The key-frequency rule (``key_frequencies``), exactly:

1. Energy of frequency k = 1 .. p // 2: E_k = ||C_cos k||^2 + ||C_sin k||^2 with C = B @ W_E[:p]
   (only C_cos for the Nyquist frequency); r_k is its number of rows (2, or 1 for Nyquist).
   The constant row (the mean token embedding) is not a frequency and never key.
2. Null hypothesis "no periodic structure": the p token rows of W_E are exchangeable (for
   instance i.i.d. with any covariance: no estimate of the noise's dimension is needed).
3. Statistic over the undecided frequencies R (at first all): T = max_{k in R} (E_k / r_k) / L,
   with L the mean energy per row of the ceil(|R| / 2) frequencies of R with the least energy
   per row (a noise level that key frequencies, up to half of R, do not enter). Its null law at
   the first step: T of W_E[pi] for n_perm = 1999 token permutations pi, a permutation test of
   the maximum, so exact and family-wise over frequencies by construction.
4. With j = floor(alpha * (n_perm + 1)) - 1 and t the (j + 1)-th largest null T, every k in R
   with E_k > t * r_k * L is key (its p-value (1 + #{null T >= (E_k / r_k) / L}) / (n_perm + 1)
   is <= alpha), unless E_k is numerically zero (<= 1e-6 of the total energy).
5. Step down: while step 4 adds key frequencies, test the rest R again with the key rows left
   out, now with T = max_{k in R} E_k / r_k. Shuffling tokens would smear the key frequencies'
   energy over all the others and hide weaker ones, so these steps use the rotation null: the
   n Fourier rows left are i.i.d. N(0, S) under step 2 (exactly for Gaussian tokens, and close
   to it otherwise, as every row mixes all p tokens), so given their Gram spectrum mu a
   frequency's energy is distributed as sum_j mu_j ||Q_j||^2 for a uniform random orthonormal
   n x r_k frame Q. T's null law: n_perm draws of the max over R of independent such frames
   (exact rotations would make the frames orthogonal; with this T that changes its quantiles
   by about 1 %, see docs/key-frequencies.md). Then step 4 again with L = 1.

All draws come from ``np.random.default_rng(0)``, so results are reproducible. alpha = 1e-3
by default: an unstructured W_E shows a key frequency with probability <= alpha. ``threshold``
is t * r_k * L of the last step, which every non-key frequency stays below (None in
``embedding_fourier`` where nothing could be tested: fewer than two frequencies, no energy).

The threshold-free spread: N_eff = (sum_k E_k)^2 / sum_k E_k^2 over k >= 1, the effective
number of frequencies (1 when one holds all the energy, p // 2 when all hold the same), with
``n_eff_null`` its [2.5 %, 97.5 %] interval over the step-3 token permutations.
"""

from __future__ import annotations

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


def _shuffled_energies(g: Float[np.ndarray, "p p"], perms: Int[np.ndarray, "b p"]) -> Float[np.ndarray, "b freq"]:
    """Energy per frequency 1 .. p // 2 of W[perm] for each row of ``perms``, from g = W @ W.T.

    E_k = w_k sum_{x, y} g[x, y] cos(2 pi k (y - x) / p), w_k = 2 / p (1 / p for Nyquist), needs
    only the lag sums a(l) = sum_x g[pi(x), pi(x + l)] for l = 0 .. p // 2 (g is symmetric).
    """
    p = g.shape[0]
    x, ks, lags = np.arange(p), np.arange(1, p // 2 + 1), np.arange(p // 2 + 1)
    mult = np.where((lags == 0) | (2 * lags == p), 1.0, 2.0)  # a(l) = a(p - l) counted once
    cos = mult[:, None] * np.cos(2 * np.pi * np.outer(lags, ks) / p) * np.where(2 * ks == p, 1.0, 2.0) / p
    at = (x[:, None] + lags) % p  # [x, l] -> x + l
    flat = np.asarray(g, np.float64).ravel()
    out = [flat[c[:, :, None] * p + c[:, at]].sum(1) @ cos for c in np.array_split(perms, -(-len(perms) // 256))]
    return np.concatenate(out) if out else np.zeros((0, ks.size))


def _frame_energies(mu: Float[np.ndarray, " n"], rows: Int[np.ndarray, " m"], draws: int,
                    rng: np.random.Generator) -> Float[np.ndarray, "draws m"]:
    """Energy sum_j mu_j ||Q_j||^2 of uniformly random orthonormal n x r frames Q, r = rows[k] (1 or 2).

    Under the rotation null, conditional on the Gram spectrum mu of the n remaining rows, this is
    exactly the law of one frequency's energy; frequencies are drawn independently (module doc).
    """
    out = []
    for b in np.array_split(np.arange(draws), -(-draws // 64)):
        z = rng.standard_normal((b.size, rows.size, 2, mu.size))
        q1 = z[:, :, 0] / np.linalg.norm(z[:, :, 0], axis=-1, keepdims=True)
        q2 = z[:, :, 1] - (q1 * z[:, :, 1]).sum(-1, keepdims=True) * q1
        q2 /= np.linalg.norm(q2, axis=-1, keepdims=True)
        out.append(q1**2 @ mu + (rows == 2) * (q2**2 @ mu))
    return np.concatenate(out)


def _lower_half(energy: Float[np.ndarray, "*batch m"], rows: Int[np.ndarray, " m"]) -> Float[np.ndarray, "*batch"]:
    """Mean energy per row over the ceil(m / 2) frequencies with the least energy per row."""
    low = np.argsort(energy / rows, axis=-1)[..., : -(-rows.size // 2)]
    return np.take_along_axis(energy, low, -1).sum(-1) / rows[low].sum(-1)


def n_eff(energy: Float[np.ndarray, "*batch freq"]) -> Float[np.ndarray, "*batch"]:
    """Effective number of frequencies (sum E)^2 / sum E^2 (0 when there is no energy)."""
    e = np.asarray(energy, np.float64)
    s2 = (e**2).sum(-1)
    return np.where(s2 > 0, e.sum(-1) ** 2 / np.where(s2 > 0, s2, 1.0), 0.0)


def frequency_test(w: Float[np.ndarray, "p d"], alpha: float = 1e-3, n_perm: int = 1999) -> dict:
    """The key-frequency rule of the module doc: energies, key frequencies, threshold, null energies."""
    w = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    p = w.shape[0]
    j = int(np.floor(alpha * (n_perm + 1))) - 1  # null maxima allowed above a key frequency
    if j < 0:
        raise ValueError(f"alpha={alpha} needs n_perm >= {int(np.ceil(1 / alpha)) - 1}, got {n_perm}")
    rng = np.random.default_rng(0)
    g, b, freqs = w @ w.T, fourier_basis(p), basis_freqs(p)
    energy = _shuffled_energies(g, np.arange(p)[None])[0]
    rows = np.bincount(freqs, minlength=p // 2 + 1)[1:]
    null = _shuffled_energies(g, rng.permuted(np.tile(np.arange(p), (n_perm, 1)), axis=1))
    key, thresh, drawn, first = np.zeros(energy.size, bool), np.full(energy.size, np.inf), null, True
    floor = 1e-6 * energy.sum()
    while (~key).sum() >= 2 and energy[~key].sum() > floor:
        rest = ~key
        peak, level = (drawn / rows[rest]).max(1), 1.0
        if first:  # relative to the noise level L (module doc, step 3)
            with np.errstate(divide="ignore", invalid="ignore"):
                peak = np.nan_to_num(peak / _lower_half(drawn, rows[rest]))
            level = _lower_half(energy[rest], rows[rest])
        thresh = np.sort(peak)[::-1][j] * level * rows
        new = rest & (energy > thresh) & (energy > floor)
        if not new.any():
            break
        key |= new
        sel = np.isin(freqs, 1 + np.flatnonzero(~key))
        mu = np.clip(np.linalg.eigvalsh(b[sel] @ g @ b[sel].T), 0, None)  # Gram spectrum of the rest
        drawn, first = _frame_energies(mu, rows[~key], n_perm, rng), False
    return {"energy": energy, "key": key, "threshold": thresh, "null_energy": null}


def key_frequencies(w: Float[np.ndarray, "p d"], alpha: float = 1e-3, n_perm: int = 1999) -> list[int]:
    """Key frequencies (1 .. p // 2) of token embeddings ``w`` (tokens only); rule in the module doc."""
    return [int(k) + 1 for k in np.flatnonzero(frequency_test(w, alpha, n_perm)["key"])]


def embedding_fourier(w: Float[np.ndarray, "p d"], alpha: float = 1e-3, n_perm: int = 1999) -> dict:
    """Norms of W_E's basis components and frequencies, the key frequencies and N_eff (module doc)."""
    coeffs = to_fourier(w)
    test = frequency_test(w, alpha, n_perm)
    null = n_eff(test["null_energy"])
    return {
        "basis": basis_names(w.shape[0]),
        "norms": np.linalg.norm(coeffs, axis=1).tolist(),
        "freq_norms": np.sqrt(freq_energy(coeffs)).tolist(),
        "energy": test["energy"].tolist(),
        "threshold": [float(t) if np.isfinite(t) else None for t in test["threshold"]],  # None: untested
        "key_freqs": [int(k) + 1 for k in np.flatnonzero(test["key"])],
        "n_eff": float(n_eff(test["energy"])),
        "n_eff_null": np.quantile(null, [0.025, 0.975]).tolist() if null.size else [0.0, 0.0],
        "alpha": alpha,
        "n_perm": n_perm,
    }
