"""One basis per prime? W_E, the neurons and the logits read per sub-task (docs/per-subtask.md).

The features, aliases and progress measures are in ``subtask_features``. The rules here:

Key (q, k) of W_E (``subtask_key_test``). E_qk = ||B_qk^T W||^2, W = W_E[:p] (B orthogonal to
the constant, so the mean token is never a frequency); statistic T_qk = E_qk / r_qk.

1. Null "no periodic structure": the p token rows are exchangeable. Null law of max_qk T_qk
   from ``n_perm`` (499) seeded row permutations (``np.random.default_rng(seed)``). With
   j = floor(alpha (n_perm + 1)) - 1 and t the (j + 1)-th largest null maximum, candidates are
   the undecided pairs with T > t (and E > 1e-9 of the total centred energy). alpha = 0.01:
   an unstructured W_E shows a key pair with probability <= alpha (family-wise, exact).
2. The candidate with the largest T is key, with every candidate that is its alias (token
   overlap >= 0.5): within one alias group the energy cannot say which sub-task it serves,
   so all are kept and marked ambiguous. Other candidates wait: their energy may be a strong
   key's leaking through a weaker overlap.
3. Step down: the constant and every key span are projected out, W -> Z (n rows in the rest);
   T_qk becomes ||B_qk^T P W||^2 / r_qk, the pair's energy left unexplained by the keys. Null:
   Z's rows i.i.d. N(0, S) (rotation null, as in ``fourier``): ||M^T H Z||^2 with H Haar, drawn
   n_perm times jointly over all pairs (they overlap, so not independently). Step 2 again
   until no candidate is left.

A key (q, k) is ambiguous when one of its aliases of another sub-task is key too.

Neurons (the primary attribution). A neuron's grid is its ReLU output at ``=`` in the last
block over all p^2 inputs; ``neuron_fractions`` gives each pair's share of its variance; its
best pair is the largest. Its direct logit attribution is W_out[n] @ W_U, each sub-task's block
centred over its q classes (a constant over a block does not change that sub-task's softmax);
its share for q is that block's norm^2 over the sum of all blocks'. A live neuron serves q when
q has its largest share AND its best pair (>= ``min_frac`` = 0.5 of its variance) belongs to q;
both counts are reported too. It is shared when >= 2 sub-tasks have a real share: >= 0.25 and
>= twice the share (q - 1) / sum_q' (q' - 1) that an isotropic direction would give q.

Progress measures: ``restricted_excluded`` with the key k's of q = W_E's keys of q together with
the best k of the neurons that serve q; restricted on the validation split, excluded on the
training split (Nanda et al.'s choice).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from jaxtyping import Float, Int

from .. import tasks
from ..config import Config
from . import subtask_features as sf
from .activations import last_block, run_with_cache
from .neurons import neuron_grids

ALPHA, N_PERM, MIN_FRAC, SHARE = 0.01, 499, 0.5, 0.25


def subtask_energy(w: Float[np.ndarray, "p d"]) -> Float[np.ndarray, " pairs"]:
    """E_qk = ||B_qk^T W||^2 for every pair of ``subtask_features.subtask_pairs(p)``."""
    w = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    _, b, owner = sf.feature_bases(w.shape[0])
    return sf.grouped(((b.T @ w) ** 2).sum(1), owner)


def _null_max(m: Float[np.ndarray, "n cols"], frames, owner, r, rest) -> Float[np.ndarray, " draws"]:
    """max over the pairs in ``rest`` of ||M^T F||^2 / r for each frame F of ``frames`` (draws, n, rank)."""
    d, n, k = frames.shape
    y = m.T @ frames.transpose(1, 0, 2).reshape(n, d * k)  # one BLAS call for every draw
    e = sf.grouped((y.reshape(-1, d, k) ** 2).sum(-1).T, owner)
    return (e[:, rest] / r[rest]).max(1)


def subtask_key_test(w: Float[np.ndarray, "p d"], alpha: float = ALPHA, n_perm: int = N_PERM, seed: int = 0,
                     alias_threshold: float = sf.ALIAS_THRESHOLD) -> dict[str, Any]:
    """The key-pair rule of the module doc on token embeddings ``w`` = W_E[:p]."""
    w = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    p = w.shape[0]
    j = int(np.floor(alpha * (n_perm + 1))) - 1
    if j < 0:
        raise ValueError(f"alpha={alpha} needs n_perm >= {int(np.ceil(1 / alpha)) - 1}, got {n_perm}")
    pairs, b, owner = sf.feature_bases(p)
    r = np.bincount(owner).astype(float)
    overlap = sf.token_overlap(p)
    alias = overlap >= alias_threshold
    np.fill_diagonal(alias, False)
    rng = np.random.default_rng(seed)
    wc = w - w.mean(0)
    u, s, _ = np.linalg.svd(wc, full_matrices=False)
    low = u * s  # p x rank: same energies as wc in every subspace, fewer columns
    energy = sf.grouped(((b.T @ low) ** 2).sum(1), owner)
    total = float((s**2).sum())
    floor = 1e-9 * total
    perms = rng.permuted(np.tile(np.arange(p), (n_perm, 1)), axis=1)
    null = np.concatenate([_null_max(b, low[c], owner, r, np.ones(len(pairs), bool))
                           for c in np.array_split(perms, -(-n_perm // 64))])
    key, step_of, steps = np.zeros(len(pairs), bool), np.full(len(pairs), -1), []
    stat, left = energy / r, energy
    while True:
        t = np.sort(null)[::-1][j]
        cand = ~key & (stat > t) & (left > floor)
        if not cand.any():
            steps.append({"threshold": float(t), "top": None, "keys": []})
            break
        top = int(np.argmax(np.where(cand, stat, -np.inf)))
        new = cand & (alias[top] | (np.arange(len(pairs)) == top))
        key |= new
        step_of[new] = len(steps)
        steps.append({"threshold": float(t), "top": list(pairs[top]),
                      "keys": [list(pairs[i]) for i in np.flatnonzero(new)]})
        # Step down: the rest of the token space, after the constant and every key span.
        span = np.concatenate([np.full((p, 1), 1 / np.sqrt(p)), b[:, np.isin(owner, np.flatnonzero(key))]], 1)
        uu, ss, _ = np.linalg.svd(span, full_matrices=True)
        rest = uu[:, int((ss > 1e-9).sum()):]  # p x n orthonormal, orthogonal to every key span
        if rest.shape[1] == 0:
            break
        zu, zs, _ = np.linalg.svd(rest.T @ wc, full_matrices=False)
        zs = zs[zs > 1e-12 * max(zs.max(initial=0.0), 1e-300)]
        m = rest.T @ b
        left = sf.grouped(((m.T @ (zu[:, :zs.size] * zs)) ** 2).sum(1), owner)
        stat = left / r
        if zs.size == 0:  # the keys explain all of W_E
            break
        # Haar frames: QR of Gaussian n x rank; column signs do not change a Frobenius norm.
        g = rng.standard_normal((n_perm, rest.shape[1], zs.size))
        null = np.concatenate([_null_max(m, np.linalg.qr(c)[0] * zs, owner, r, ~key)
                               for c in np.array_split(g, -(-n_perm // 64))])
    keys = [pairs[i] for i in np.flatnonzero(key)]
    aliases = sf.alias_lists(overlap, pairs, alias_threshold)
    return {
        "pairs": pairs, "energy": energy, "total_energy": total, "key": key, "step": step_of, "steps": steps,
        "keys": keys, "aliases": {pq: aliases[pq] for pq in keys},
        "ambiguous": {pq: [a for a in aliases[pq] if a[0] != pq[0] and a in keys] for pq in keys},
        "alpha": alpha, "n_perm": n_perm, "alias_threshold": alias_threshold,
    }


def neuron_attribution(w_out: Float[np.ndarray, "neuron d"], w_u: Float[np.ndarray, "d n_out"],
                       n_classes) -> Float[np.ndarray, "neuron subtask"]:
    """Each neuron's share of its direct logit effect per sub-task block (block-centred norm^2)."""
    d = np.asarray(w_out, np.float64) @ np.asarray(w_u, np.float64)
    ends = np.cumsum(n_classes)
    blocks = np.split(d, ends[:-1], axis=1)
    e = np.stack([((x - x.mean(1, keepdims=True)) ** 2).sum(1) for x in blocks], 1)
    tot = e.sum(1, keepdims=True)
    return np.where(tot > 0, e / np.where(tot > 0, tot, 1.0), 0.0)


def logit_parts(params: dict[str, np.ndarray], cache: dict[str, np.ndarray]) -> tuple[
        Float[np.ndarray, "sample n_out"], Float[np.ndarray, "sample neuron"], Float[np.ndarray, "neuron n_out"]]:
    """(rest, post, direct): logits = rest + post @ direct, where rest = resid_mid @ W_U (embeddings
    and attention of the last block) and direct[n] = W_out[n] @ W_U (neuron n's direct effect)."""
    b = last_block(params)
    w_u = np.asarray(params["W_U"], np.float64)
    rest = np.asarray(cache[b + "hook_resid_mid"], np.float64)[:, 0, :] @ w_u
    post = np.asarray(cache[b + "mlp.hook_post"], np.float64)[:, 0, :]
    return rest, post, np.asarray(params[b + "mlp.W_out"], np.float64) @ w_u


def per_subtask(params: dict[str, np.ndarray], cfg: Config, *, labels: Int[np.ndarray, "sample subtask"] | None = None,
                train=None, valid=None, alpha: float = ALPHA, n_perm: int = N_PERM, seed: int = 0,
                alias_threshold: float = sf.ALIAS_THRESHOLD, min_frac: float = MIN_FRAC,
                share: float = SHARE) -> dict[str, dict[str, Any]]:
    """Per sub-task q (key ``str(q)``): W_E's key k's and their aliases, the neurons that serve q,
    and the progress measures at these parameters (rules in the module doc)."""
    p, task = cfg.p, tasks.task_of(cfg)
    if tuple(task.n_classes) != tuple(task.subtasks) or task.name == "nanda":
        raise ValueError(f"per-sub-task analysis needs q classes per prime q < p, not task={cfg.task!r}")
    labels = tasks.targets(cfg) if labels is None else np.asarray(labels)
    if train is None or valid is None:
        train, valid = tasks.split(cfg)
    test = subtask_key_test(np.asarray(params["W_E"])[:p], alpha, n_perm, seed, alias_threshold)
    pairs, energy = test["pairs"], test["energy"]
    logits, cache = run_with_cache(params, p, cfg.readout)
    _, post, _ = logit_parts(params, cache)
    frac = sf.neuron_fractions(neuron_grids(post, p))
    best = frac.argmax(1)
    best_frac = frac[np.arange(len(best)), best]
    live = post.std(0) > 0
    shares = neuron_attribution(np.asarray(params[last_block(params) + "mlp.W_out"]), np.asarray(params["W_U"]),
                                task.n_classes)
    attr_q = np.asarray(task.subtasks)[shares.argmax(1)]
    feat_q = np.array([pairs[i][0] for i in best])
    by_feat = live & (best_frac >= min_frac)
    # A share counts as real when >= ``share`` and >= twice an isotropic direction's, (q - 1) / sum (q' - 1):
    # without the second bound, random neurons are "shared" by the widest blocks at small p.
    dims = np.asarray(task.n_classes, float) - 1
    real = live[:, None] & (shares >= np.maximum(share, 2 * dims / dims.sum()))
    shared = real.sum(1) >= 2
    out = {}
    for s, (q, off) in enumerate(zip(task.subtasks, task.offsets)):
        ks = [k for (qq, k) in test["keys"] if qq == q]
        serve = np.flatnonzero(live & (attr_q == q) & by_feat & (feat_q == q))
        nk = Counter(pairs[best[n]][1] for n in serve)
        loss_ks = sorted(set(ks) | set(nk))
        z = logits[:, off:off + q]
        restricted, excluded = sf.restricted_excluded(z, labels[:, s], q, loss_ks, p, restricted_idx=valid,
                                                      excluded_idx=train)
        out[str(q)] = {
            "key_freqs": ks,
            "x1_freqs": {str(k): sf.x1_freq(q, k, p) for k in ks},
            "aliases": {str(k): [list(a) for a in test["aliases"][(q, k)]] for k in ks},
            "ambiguous": {str(k): [list(a) for a in test["ambiguous"][(q, k)]] for k in ks},
            "energy": [float(energy[pairs.index((q, k))] / max(test["total_energy"], 1e-300))
                       for k in range(1, q // 2 + 1)],
            "neurons": int(serve.size),
            "neuron_ids": serve.tolist(),
            "neurons_by_attribution": int((live & (attr_q == q)).sum()),
            "neurons_by_features": int((by_feat & (feat_q == q)).sum()),
            "neuron_freqs": {str(k): int(c) for k, c in sorted(nk.items())},
            "shared_neurons": int((shared & real[:, s]).sum()),
            "loss_ks": loss_ks,
            "loss": sf.cross_entropy(z, labels[:, s]),
            "restricted_loss": restricted,
            "excluded_loss": excluded,
        }
    # The neurons' side settles what W_E cannot: the token frequencies q's neurons use (k in x0,
    # fold(k r) in x1), against those of every sub-task whose key aliases one of q's.
    used = {q: {f for k in map(int, v["neuron_freqs"]) for f in (k, sf.x1_freq(int(q), k, p))} for q, v in out.items()}
    for q, v in out.items():
        v["resolved"] = {k: int(k) in used[q] and all(b not in used[str(a)] for a, b in v["ambiguous"][k])
                         for k in v["ambiguous"]}
    return out


def read_one_basis(per: dict[str, dict[str, Any]], grokked_qs) -> str:
    """One line answering "one basis per prime?" for the grokked sub-tasks, from ``per_subtask``."""
    qs = [str(q) for q in grokked_qs if str(q) in per]
    if not qs:
        return "no grokked sub-task: one basis per prime cannot be read"
    own = [q for q in qs if any(not per[q]["ambiguous"][k] for k in map(str, per[q]["key_freqs"]))]
    res = [q for q in qs if q not in own and any(per[q].get("resolved", {}).values())]
    amb = [q for q in qs if per[q]["key_freqs"] and q not in own and q not in res]
    none = len(qs) - len(own) - len(res) - len(amb)
    neur = [q for q in qs if per[q]["neurons"] > 0]
    sh = [q for q in neur if per[q]["shared_neurons"] > 0]
    m, basis = len(qs), len(own) + len(res)
    verdict = ("supported" if basis == m and len(neur) == m else
               "not supported" if not basis and not neur else "partly supported")
    return (f"{len(own)} of {m} grokked sub-tasks have their own key period-q frequency in W_E (no key alias of "
            f"another sub-task), {len(res)} an ambiguous one that their neurons settle, {len(amb)} only ambiguous "
            f"ones, {none} none; {len(neur)} have neurons that serve them (W_U share and features agree), "
            f"{len(sh)} of those share neurons: one basis per prime is {verdict}")
