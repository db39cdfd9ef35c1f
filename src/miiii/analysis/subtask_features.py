"""Period-q features of the miiii sub-tasks, over the p tokens and over the (x0, x1) grid
(docs/per-subtask.md).

Sub-task q's label is n mod q with n = x0 + p x1. Since p x1 = r x1 (mod q) with r = p mod q,
the label is (x0 + r x1) mod q. Nanda et al.'s readout for class c, cos(2 pi k (x0 + r x1 - c) / q),
expands into cos and sin of a = 2 pi k x0 / q and b = 2 pi (k r) x1 / q and their products. The x1
wave has k r cycles per q tokens; cos/sin of (q - m) / q span the same two functions over integer
tokens as those of m / q (sin changes sign), so its frequency is k1 = fold(k r mod q), with
fold(m) = min(m, q - m). ``x1_freq`` is that k1: the label of sub-task q uses frequency k in x0
and k1 in x1 (k1 = k only when r = +-1 mod q). Every k1 is again some pair (q, k1) of the same
sub-task, as r is invertible mod q.

Pairs. Sub-task q has the frequencies k = 1 .. q // 2 (``subtask_pairs``, ordered by q, then k).

Token features (one pair's subspace of R^p). cos(2 pi k x / q) and sin(2 pi k x / q) over x = 0 .. p-1
(only the cosine when 2k = q: for q = 2 the parity (-1)^x), each with its mean over x removed,
then an orthonormal basis of their span (SVD; r_qk = 1 or 2 columns). The waves are not
orthogonal over p tokens (p is no multiple of q), so every rule below uses this subspace, never
the raw waves: energies are projection norms, fits are least squares.

Token overlap of two pairs: the mean of the squared cosines of their principal angles,
||B_i^T B_j||_F^2 / min(r_i, r_j), in [0, 1]. Pairs (q', k') with overlap >= ``ALIAS_THRESHOLD``
(0.5) are the aliases of (q, k): over p tokens two waves of k/q and k'/q' cycles per token
can be told apart only when |k/q - k'/q'| is at least about 1/p.

Grid features of a pair (one subspace of R^(p x p)): the tensor product of span{1, B_(q,k)} over x0
and span{1, B_(q,k1)} over x1, without the constant: cos a, sin a, cos b, sin b and their four
products (8 dimensions; 3 for q = 2). It is orthonormal by construction. It holds the label's
own directions cos(2 pi k (x0 + r x1) / q), sin(...) (``label_directions``). Grid overlap uses the same
mean squared cosine; it is (t0 t1 - 1) / min(dims) with t = 1 + ||B_i^T B_j||^2 on each axis.
As functions of n = x0 + p x1 the products have k/q cycles per unit of n, resolved at about
1 / p^2, so grid features alias far less than token features.
"""

from __future__ import annotations

import functools

import numpy as np
from jaxtyping import Float, Int
from scipy.special import logsumexp

from ..config import primes_below

ALIAS_THRESHOLD = 0.5  # mean squared cosine of the principal angles at which two spans are aliases


def fold(m: int, q: int) -> int:
    """The frequency 0 .. q // 2 whose cos/sin span the same functions as m / q cycles per token."""
    m %= q
    return min(m, q - m)


def x1_freq(q: int, k: int, p: int) -> int:
    """The x1 frequency (per q tokens) of sub-task q's label term at x0 frequency k: fold(k (p mod q))."""
    return fold(k * (p % q), q)


def subtask_pairs(p: int) -> list[tuple[int, int]]:
    """Every (q, k): q a prime below p, k = 1 .. q // 2; ordered by q, then k."""
    return [(q, k) for q in primes_below(p) for k in range(1, q // 2 + 1)]


def token_basis(p: int, q: int, k: int) -> Float[np.ndarray, "p r"]:
    """Orthonormal basis of the centred span of cos/sin(2 pi k x / q), x = 0 .. p-1 (module doc)."""
    x = np.arange(p)
    waves = [np.cos(2 * np.pi * k * x / q)] + ([] if 2 * k == q else [np.sin(2 * np.pi * k * x / q)])
    f = np.stack(waves, 1)
    f -= f.mean(0)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    return u[:, s > 1e-9 * max(s.max(), 1e-300)]


def feature_bases(p: int) -> tuple[list[tuple[int, int]], Float[np.ndarray, "p cols"], Int[np.ndarray, " cols"]]:
    """(pairs, every pair's token basis side by side, the pair index of each column); read-only arrays."""
    pairs, b, owner = _bases(p)
    return list(pairs), b, owner


@functools.lru_cache(maxsize=8)
def _bases(p: int) -> tuple[tuple[tuple[int, int], ...], np.ndarray, np.ndarray]:
    # Cached: every rule needs them and p is fixed per model (726 SVDs at p = 113).
    pairs = subtask_pairs(p)
    blocks = [token_basis(p, q, k) for q, k in pairs]
    b, owner = np.concatenate(blocks, 1), np.repeat(np.arange(len(pairs)), [x.shape[1] for x in blocks])
    b.flags.writeable = owner.flags.writeable = False
    return tuple(pairs), b, owner


def grouped(x: Float[np.ndarray, "... cols"], owner: Int[np.ndarray, " cols"]) -> Float[np.ndarray, "... pairs"]:
    """Sum the last axis over the columns of each pair (columns of one pair are contiguous)."""
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    return np.add.reduceat(x, starts, axis=-1)


def _cross(p: int) -> tuple[list[tuple[int, int]], Float[np.ndarray, "n n"], Int[np.ndarray, " n"]]:
    """(pairs, S[i, j] = ||B_i^T B_j||_F^2, r_i)."""
    pairs, b, owner = feature_bases(p)
    g2 = (b.T @ b) ** 2
    s = grouped(grouped(g2, owner).T, owner).T
    return pairs, s, np.bincount(owner)


def token_overlap(p: int) -> Float[np.ndarray, "n n"]:
    """Mean squared cosine of the principal angles between every two pairs' token spans."""
    _, s, r = _cross(p)
    return s / np.minimum.outer(r, r)


def grid_overlap(p: int) -> Float[np.ndarray, "n n"]:
    """Mean squared cosine of the principal angles between every two pairs' grid spans (module doc)."""
    pairs, s, r = _cross(p)
    at = {pq: i for i, pq in enumerate(pairs)}
    i1 = np.array([at[(q, x1_freq(q, k, p))] for q, k in pairs])
    dims = (1 + r) * (1 + r[i1]) - 1
    return ((1 + s) * (1 + s[np.ix_(i1, i1)]) - 1) / np.minimum.outer(dims, dims)


def alias_lists(overlap: Float[np.ndarray, "n n"], pairs: list[tuple[int, int]],
                threshold: float = ALIAS_THRESHOLD) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Per pair, the other pairs with overlap >= threshold, the largest overlap first."""
    out = {}
    for i, pq in enumerate(pairs):
        js = [j for j in np.argsort(-overlap[i], kind="stable") if j != i and overlap[i, j] >= threshold]
        out[pq] = [pairs[j] for j in js]
    return out


def neuron_fractions(grids: Float[np.ndarray, "neuron p p"], chunk: int = 64) -> Float[np.ndarray, "neuron pairs"]:
    """Fraction of each neuron's centred variance that each pair's grid span explains.

    Least squares on the 8 centred features [cos a, sin a, cos b, sin b, cos a cos b, cos a sin b,
    sin a cos b, sin a sin b] (a = 2 pi k x0 / q, b at the x1 frequency ``x1_freq``) is the
    orthogonal projection onto the pair's grid span; that span is a tensor product of two
    orthonormal token bases, so the fit is ||B0^T A B1||^2 on the centred grid A, over
    ||A||^2. Neurons that never vary get 0 everywhere. Column j is ``subtask_pairs(p)[j]``.
    """
    grids = np.asarray(grids, np.float64)
    n, p = grids.shape[0], grids.shape[-1]
    pairs, b, owner = feature_bases(p)
    # [const | every pair's columns | a zero column]; each pair's x0 side (rows) and x1 side (cols)
    # index 3 of them, padded with the zero column where a span has one wave (q = 2).
    ext = np.concatenate([np.full((p, 1), 1 / np.sqrt(p)), b, np.zeros((p, 1))], 1)
    first = np.searchsorted(owner, np.arange(len(pairs)))
    r = np.bincount(owner)

    def sides(i: int) -> list[int]:
        return [0, 1 + first[i], 1 + first[i] + 1 if r[i] == 2 else ext.shape[1] - 1]

    at = {pq: i for i, pq in enumerate(pairs)}
    rows = np.array([sides(i) for i in range(len(pairs))])
    cols = np.array([sides(at[(q, x1_freq(q, k, p))]) for q, k in pairs])
    left = ext[:, rows]  # (p, pairs, 3)
    out = np.zeros((n, len(pairs)))
    for lo in range(0, n, chunk):
        a = grids[lo:lo + chunk] - grids[lo:lo + chunk].mean((1, 2), keepdims=True)
        m = len(a)
        total = (a**2).sum((1, 2))
        t = (a.reshape(m * p, p) @ ext).reshape(m, p, -1)  # one BLAS call: A B for every column
        c = np.einsum("ixa,nixb->nxab", left, t[:, :, cols], optimize=True)  # B0^T A B1 per pair
        e = (c**2).sum((2, 3))  # c[:, :, 0, 0] = 0: centred
        live = total > 1e-12 * max(total.max(), 1e-300)
        out[lo:lo + m] = np.where(live[:, None], e / np.where(live, total, 1.0)[:, None], 0.0)
    return out


def label_directions(p: int, q: int, k: int, r: int | None = None) -> Float[np.ndarray, "p p m"]:
    """cos and sin of 2 pi k (x0 + r x1) / q over the grid (r = p mod q by default; only cos when 2k = q)."""
    r = p % q if r is None else r
    x0, x1 = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    ph = 2 * np.pi * k * (x0 + r * x1) / q
    return np.stack([np.cos(ph)] + ([] if 2 * k == q else [np.sin(ph)]), -1)


def key_span(p: int, q: int, key_ks, r: int | None = None, span: str = "full") -> Float[np.ndarray, "pp m"]:
    """Orthonormal basis (over the p^2 samples, sample i = (i // p, i % p)) of the centred span of
    sub-task q's key features: ``full`` = every key k's grid span (module doc; x1 at fold(k r)),
    ``label`` = only cos/sin of 2 pi k (x0 + r x1) / q (Nanda et al.'s cos(w(x + y)) directions)."""
    r = p % q if r is None else r
    cols = []
    for k in sorted(set(int(k) for k in key_ks)):
        if span == "label":
            cols.append(label_directions(p, q, k, r).reshape(p * p, -1))
        elif span == "full":
            b0 = np.concatenate([np.full((p, 1), 1 / np.sqrt(p)), token_basis(p, q, k)], 1)
            b1 = np.concatenate([np.full((p, 1), 1 / np.sqrt(p)), token_basis(p, q, fold(k * r, q))], 1)
            cols.append(np.einsum("ia,jb->ijab", b0, b1).reshape(p * p, -1)[:, 1:])  # drop const x const
        else:
            raise ValueError(f"span must be 'full' or 'label', got {span!r}")
    if not cols:
        return np.zeros((p * p, 0))
    f = np.concatenate(cols, 1)
    f -= f.mean(0)  # the constant is handled apart (per-class means), so the span stays orthogonal to it
    u, s, _ = np.linalg.svd(f, full_matrices=False)  # spans of different k overlap: orthonormalise the union
    return u[:, s > 1e-9 * max(s.max(), 1e-300)]


def cross_entropy(logits: Float[np.ndarray, "n q"], labels: Int[np.ndarray, " n"]) -> float:
    """Mean cross-entropy divided by ln q (a uniform guess costs 1), as the training loss."""
    z = np.asarray(logits, np.float64)
    lab = np.asarray(labels).astype(np.int64)
    nll = logsumexp(z, axis=1) - z[np.arange(len(z)), lab]
    return float(nll.mean() / np.log(z.shape[1]))


def restricted_excluded(logits: Float[np.ndarray, "p p q"], labels: Int[np.ndarray, "p p"], q: int, key_ks, p: int,
                        r: int | None = None, *, span: str = "full", restricted_idx=None,
                        excluded_idx=None) -> tuple[float, float]:
    """Nanda et al.'s progress measures for one sub-task, on its logits (its W_U block at ``=``).

    L is the (p^2, q) logit matrix (sample i = (i // p, i % p)), m its per-class mean over all
    p^2 samples, P the orthogonal projection (over all p^2 samples) onto ``key_span`` of the
    key k's. restricted = CE(m + P (L - m)) on ``restricted_idx``; excluded = CE(L - P L) on
    ``excluded_idx`` (the per-class mean stays, as in Nanda's code); both CE / ln q, over all
    samples when the indices are None. Nanda evaluates restricted on the test set and excluded
    on the training set. No key k: restricted is the loss of the class means (about 1), excluded
    the full loss.
    """
    z = np.asarray(logits, np.float64).reshape(p * p, q)
    y = np.asarray(labels).reshape(p * p)
    u = key_span(p, q, key_ks, r, span)
    proj = u @ (u.T @ z)  # u is orthogonal to the constant, so P L = P (L - m)
    ri = slice(None) if restricted_idx is None else np.asarray(restricted_idx)
    ei = slice(None) if excluded_idx is None else np.asarray(excluded_idx)
    return cross_entropy((z.mean(0) + proj)[ri], y[ri]), cross_entropy((z - proj)[ei], y[ei])
