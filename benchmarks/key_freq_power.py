"""Power and false-positive rate of the key-frequency rule, new (permutation) beside old (chi^2).

    .venv/bin/python benchmarks/key_freq_power.py --draws 200

Draws, per p (d = 128 at p = 23 and 37, 256 at p = 113):

* null, iso:    W_E with i.i.d. N(0, 1) entries;
* null, aniso:  rows N(0, S) with S = Q diag(1 / i) Q^T, Q a random rotation (d_eff ~ 18 at d = 128);
* planted r:    iso noise + a (cos(2 pi f x / p) u + sin(2 pi f x / p) v), u, v random unit
                vectors, a chosen so that frequency f's expected energy is r times a noise
                frequency's (a^2 p = (r - 1) 2 d); power = share of draws where f is key;
* partial:      iso noise + three frequencies (5, 7, 9) at 20x: FWER = share of draws with a key
                frequency besides those three; power 1.5x+3 = power at 1.5x beside the three.

FPR = share of draws with any key frequency. old = the rule fourier.py had before (copied below),
new = ``fourier.key_frequencies``; both at the same alpha on the same draws. s/call = seconds per
call of the rule (on a shared 2-core machine the numbers are loose).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from miiii.analysis import fourier  # noqa: E402


# --- the old rule (participation ratio of <= p - 1 rows, Wilson-Hilferty chi^2), verbatim -----
def _chi2_quantile(q: float, nu: float) -> float:
    z = NormalDist().inv_cdf(q)
    a = 2.0 / (9.0 * nu)
    return float(nu * max(1.0 - a + z * np.sqrt(a), 0.0) ** 3)


def _participation_ratio(rows) -> float:
    s2 = np.linalg.svd(np.asarray(rows, np.float64), compute_uv=False) ** 2
    tot = s2.sum()
    return float(tot**2 / (s2**2).sum()) if tot > 0 else 1.0


def old_key_frequencies(w, alpha: float = 1e-3, max_iter: int = 50) -> list[int]:
    p = w.shape[0]
    coeffs = fourier.to_fourier(w)
    freqs = fourier.basis_freqs(p)
    energy = fourier.freq_energy(coeffs)[1:]
    n_rows = np.bincount(freqs, minlength=p // 2 + 1)[1:]
    if energy.size == 0 or energy.sum() <= 0:
        return []
    floor = 1e-6 * energy.sum()
    q_key = 1.0 - alpha / energy.size

    def dof(noise):
        rows = coeffs[np.isin(freqs, 1 + np.flatnonzero(noise))]
        return n_rows * _participation_ratio(rows) if len(rows) else n_rows * float(w.shape[1])

    nu = dof(np.ones_like(energy, bool))
    c = float(np.quantile(energy, 0.25)) / _chi2_quantile(0.25, float(np.median(nu)))
    key = np.zeros_like(energy, bool)
    for _ in range(max_iter):
        thresh = c * np.array([_chi2_quantile(q_key, v) for v in nu])
        new = (energy > thresh) & (energy > floor)
        if new.all() or (new == key).all():
            key = new
            break
        key = new
        nu = dof(~key)
        c = float((energy[~key] / nu[~key]).mean())
    return [int(k) + 1 for k in np.flatnonzero(key)]


# --- draws ------------------------------------------------------------------------------------
def wave(p: int, f: int, d: int, ratio: float, rng) -> np.ndarray:
    """The planted part: expected energy (ratio - 1) * 2 d at frequency f (noise: 2 d per frequency)."""
    x = np.arange(p)
    u, v = rng.normal(size=(2, d))
    a = np.sqrt((ratio - 1) * 2 * d / p)
    return a * (np.outer(np.cos(2 * np.pi * f * x / p), u / np.linalg.norm(u))
                + np.outer(np.sin(2 * np.pi * f * x / p), v / np.linalg.norm(v)))


def aniso_factor(d: int, rng) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return np.sqrt(1.0 / np.arange(1, d + 1))[:, None] * q.T  # rows @ factor ~ N(0, Q diag(1/i) Q^T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.05, 1e-3])
    ap.add_argument("--ps", type=int, nargs="+", default=[23, 37, 113])
    ap.add_argument("--no-old", action="store_true", help="skip the old rule")
    args = ap.parse_args()
    rules = {"new": fourier.key_frequencies} | ({} if args.no_old else {"old": old_key_frequencies})
    cols = ["FPR iso", "FPR aniso", "power 1.5x", "power 2x", "FWER partial", "power 1.5x+3"]
    head = f"{'p':>4} {'d':>4} {'draws':>5} {'alpha':>6} {'rule':>4} "
    print(head + " ".join(f"{c:>12}" for c in cols) + f" {'s/call':>7}")
    for p in args.ps:
        d, f, strong = (128 if p < 100 else 256), 3, [5, 7, 9]
        rng = np.random.default_rng(p)  # the same draws for every rule and alpha
        draws = []
        for _ in range(args.draws):
            big = sum(wave(p, k, d, 20.0, rng) for k in strong)
            draws.append([(rng.normal(size=(p, d)), None), (rng.normal(size=(p, d)) @ aniso_factor(d, rng), None),
                          (rng.normal(size=(p, d)) + wave(p, f, d, 1.5, rng), f),
                          (rng.normal(size=(p, d)) + wave(p, f, d, 2.0, rng), f),
                          (rng.normal(size=(p, d)) + big, strong),
                          (rng.normal(size=(p, d)) + big + wave(p, f, d, 1.5, rng), f)])
        for alpha in args.alphas:
            for name, rule in rules.items():
                hits, t0 = np.zeros(len(cols)), time.perf_counter()
                for row in draws:
                    for i, (w, planted) in enumerate(row):
                        found = rule(w, alpha=alpha)
                        if planted is None:
                            hits[i] += bool(found)  # any key frequency: a false positive
                        elif isinstance(planted, list):
                            hits[i] += bool(set(found) - set(planted))  # any besides the strong ones
                        else:
                            hits[i] += planted in found
                sec = (time.perf_counter() - t0) / (len(draws) * len(cols))
                print(f"{p:>4} {d:>4} {len(draws):>5} {alpha:>6g} {name:>4} "
                      + " ".join(f"{h / len(draws):>12.3f}" for h in hits) + f" {sec:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
