"""One figure per analysis of a run, drawn from ``pipelines.analyze.compute_run``'s output.

Every function takes the numbers (one entry of analysis.json's "runs") and the arrays,
and returns a matplotlib Figure; nothing here reads or writes files.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..analysis.fourier import basis_names, fourier_2d
from .style import CMAP, DIVERGING, PALETTE, figure, log_epoch_axis, styled


def _t(epochs: np.ndarray) -> np.ndarray:
    """Epoch 0 drawn at 0.5 so a log axis keeps it."""
    e = np.asarray(epochs, np.float64)
    return np.where(e > 0, e, 0.5)


def _title(n: dict) -> str:
    c = n["config"]
    return f"{c['task']} p={c['p']} (run {n['run']})"


@styled
def curves(n: dict, a: dict) -> Figure:
    cv, qs = a["curves"], n["subtasks"]
    fig, ax = figure(1, 2, height=3.2, width=7.2)
    colours = [__import__("matplotlib").colormaps[CMAP](v) for v in np.linspace(0, 0.9, len(qs))]
    for j, (key, label) in enumerate((("accuracy", "accuracy"), ("loss", "loss / ln q"))):
        for s, q in enumerate(qs):
            kw = {"color": colours[s], "lw": 1.0}
            ax[0, j].plot(_t(cv["epochs"]), cv[f"valid_{key}"][:, s], label=f"q={q}" if len(qs) <= 12 or s % 4 == 0 else None, **kw)
            ax[0, j].plot(_t(cv["epochs"]), cv[f"train_{key}"][:, s], ls=":", **kw)
        log_epoch_axis(ax[0, j], cv["epochs"])
        ax[0, j].set_ylabel(label)
    ax[0, 1].set_yscale("log")
    ax[0, 0].set_title("accuracy (solid: validation, dotted: train)")
    ax[0, 1].set_title("loss (solid: validation, dotted: train)")
    handles, labels = ax[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", title="sub-task")  # never over the curves
    fig.suptitle(f"Training curves per sub-task — {_title(n)}")
    return fig


@styled
def pos_emb(n: dict, a: dict) -> Figure:
    w = a["W_pos"]
    fig, ax = figure(1, 2, height=2.8, gridspec_kw={"width_ratios": [2, 1]})
    lim = np.abs(w[:2]).max()
    im = ax[0, 0].imshow(w[:2], aspect="auto", cmap=DIVERGING, vmin=-lim, vmax=lim, interpolation="nearest")
    ax[0, 0].set_yticks([0, 1], ["x0", "x1"])
    ax[0, 0].set_xlabel("residual dimension")
    ax[0, 0].set_title("positional embeddings W_pos")
    ax[0, 0].grid(False)
    fig.colorbar(im, ax=ax[0, 0], label="weight")
    ax[0, 1].scatter(w[0], w[1], s=6, color=PALETTE[0])
    ax[0, 1].set_xlabel("W_pos[x0]")
    ax[0, 1].set_ylabel("W_pos[x1]")
    ax[0, 1].set_title(f"Pearson r = {n['pos_emb_corr']:.3f}")
    fig.suptitle(f"Positional embeddings — {_title(n)}")
    return fig


@styled
def svd(n: dict, a: dict) -> Figure:
    s = n["svd"]
    fig, ax = figure(1, 2, height=3.0)
    k = np.arange(1, len(s["singular_values"]) + 1)
    ax[0, 0].bar(k, s["singular_values"], color=PALETTE[0])
    ax2 = ax[0, 0].twinx()
    ax2.plot(k, np.cumsum(s["explained"]), color=PALETTE[1], marker=".")
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("cumulative share of variance")
    ax2.grid(False)
    ax[0, 0].set_xlabel("singular value index")
    ax[0, 0].set_ylabel("singular value")
    ax[0, 0].set_title(f"W_E singular values (50 %: {s['n50']}, 90 %: {s['n90']})")
    for j, v in enumerate(s["top_vectors"]):
        ax[0, 1].plot(v, color=PALETTE[j], lw=1, label=f"u{j + 1}")
    ax[0, 1].set_xlabel("input token")
    ax[0, 1].set_ylabel("component")
    ax[0, 1].set_title("top left singular vectors over tokens")
    ax[0, 1].legend()
    fig.suptitle(f"Token-embedding SVD — {_title(n)}")
    return fig


@styled
def fourier(n: dict, a: dict) -> Figure:
    f = n["fourier"]
    norms = np.asarray(f["freq_norms"])
    fig, ax = figure(1, 2, height=3.0, gridspec_kw={"width_ratios": [3, 2]})
    k = np.arange(len(norms))
    colours = [PALETTE[3] if i in f["key_freqs"] else PALETTE[7] for i in k]
    ax[0, 0].bar(k[1:], norms[1:], color=colours[1:])
    ax[0, 0].set_xlabel("frequency k (cycles per p tokens)")
    ax[0, 0].set_ylabel("norm of W_E's cos k and sin k parts")
    ax[0, 0].set_title(f"key frequencies (red): {f['key_freqs'] or 'none'}")
    names = basis_names(len(f["norms"]))
    ax[0, 1].plot(f["norms"], color=PALETTE[0], lw=1)
    ax[0, 1].set_xticks(range(0, len(names), max(1, len(names) // 6)), [names[i] for i in range(0, len(names), max(1, len(names) // 6))], rotation=45)
    ax[0, 1].set_xlabel("basis component")
    ax[0, 1].set_ylabel("norm")
    ax[0, 1].set_title("every basis component")
    fig.suptitle(f"W_E in the Fourier basis — {_title(n)}")
    return fig


def _example_neurons(n: dict, count: int = 6) -> list[int]:
    frac, top = np.asarray(n["neurons"]["frac_explained"]), np.asarray(n["neurons"]["top_freq"])
    order = np.argsort(-frac, kind="stable")
    seen, picks = set(), []
    for i in order:  # one per frequency first, then the next best
        if top[i] not in seen and frac[i] > 0:
            seen.add(top[i])
            picks.append(int(i))
        if len(picks) == count:
            break
    return picks + [int(i) for i in order if int(i) not in picks][: count - len(picks)]


@styled
def neurons(n: dict, a: dict) -> Figure:
    picks = _example_neurons(n)
    grids = a["neuron_grids"][picks]
    spec = np.abs(fourier_2d(grids))
    fig, ax = figure(2, len(picks), height=3.4)
    for j, i in enumerate(picks):
        ax[0, j].imshow(grids[j], cmap=CMAP, origin="lower", interpolation="nearest")
        ax[0, j].set_title(f"neuron {i}\nk={n['neurons']['top_freq'][i]}, {n['neurons']['frac_explained'][i]:.0%}")
        ax[1, j].imshow(spec[j], cmap=CMAP, origin="lower", interpolation="nearest", norm=LogNorm(vmin=max(spec[j].max() * 1e-2, 1e-9), vmax=max(spec[j].max(), 1e-8)))
        for r in (0, 1):
            ax[r, j].grid(False)
            ax[r, j].set_xticks([])
            ax[r, j].set_yticks([])
    ax[0, 0].set_ylabel("x0 (activation)")
    ax[1, 0].set_ylabel("x0 basis (|2-D Fourier|)")
    ax[1, 0].set_xlabel("x1 basis")
    ax[0, 0].set_xlabel("x1")
    fig.suptitle(f"Neurons: activation over (x0, x1) and its Fourier spectrum — {_title(n)}")
    return fig


@styled
def neuron_clusters(n: dict, a: dict) -> Figure:
    nu = n["neurons"]
    fig, ax = figure(1, 2, height=2.8)
    ax[0, 0].hist(nu["frac_explained"], bins=np.linspace(0, 1, 21), color=PALETTE[0])
    ax[0, 0].set_xlabel("fraction of variance explained by top frequency")
    ax[0, 0].set_ylabel("neurons")
    ax[0, 0].set_title(f"mean {nu['mean_frac_explained']:.2f}; dead neurons {nu['dead']}")
    cl = {int(k): v for k, v in nu["clusters"].items()}
    ks = sorted(cl)
    ax[0, 1].bar([str(k) for k in ks], [cl[k] for k in ks], color=PALETTE[2])
    ax[0, 1].set_xlabel("top frequency k")
    ax[0, 1].set_ylabel("neurons")
    ax[0, 1].set_title(f"clusters (fraction >= {nu['cluster_min_frac']:.0%}): {nu['clustered']} neurons")
    fig.suptitle(f"Neurons clustered by frequency — {_title(n)}")
    return fig


@styled
def omega(n: dict, a: dict) -> Figure:
    o, e = n["omega"], a["omega_epochs"]
    fig, ax = figure(1, 2, height=3.0)
    sat = " — saturated at this p" if o.get("saturated") else ""
    ax[0, 0].plot(_t(e), o["count"], color=PALETTE[0], marker=".", label=f"|omega| (mean + {o['k']:g} std rule){sat}")
    if "count_calibrated" in o:
        ax[0, 0].plot(_t(e), o["count_calibrated"], color=PALETTE[1], marker=".",
                      label="calibrated |omega| (vs untrained models)")
    ax[0, 0].plot(_t(np.asarray(o["dominant_epochs"])), o["count_dominant"], color=PALETTE[3], marker="o", ms=3,
                  label="frequencies dominating neurons (checkpoints)")
    ax[0, 0].axhline(o["reference_count"], color=PALETTE[7], ls="--", lw=1, label="|omega| of untrained models")
    log_epoch_axis(ax[0, 0], e)
    ax[0, 0].set_ylabel("number of frequencies")
    ax[0, 0].set_title("active frequencies over training")
    ax[0, 0].legend()
    c = a["omega_counts"][:, 1:].T
    if c.size:
        x = _t(e)
        edges = np.concatenate([[x[0] / 1.5], np.sqrt(x[1:] * x[:-1]), [x[-1] * 1.5]]) if len(x) > 1 else np.array([x[0] / 2, x[0] * 2])
        im = ax[0, 1].pcolormesh(edges, np.arange(0.5, c.shape[0] + 1), c, cmap=CMAP)
        fig.colorbar(im, ax=ax[0, 1], label="neurons where active")
        ax[0, 1].set_xscale("log", base=2)
    ax[0, 1].set_xlabel("epoch (full-batch steps)")
    ax[0, 1].set_ylabel("frequency k")
    ax[0, 1].set_title("neurons per frequency")
    ax[0, 1].grid(False)
    fig.suptitle(f"Neuron frequencies omega — {_title(n)}")
    return fig


@styled
def attention(n: dict, a: dict) -> Figure:
    g = a["attention"]  # (h, key, p, p)
    h = g.shape[0]
    fig, ax = figure(2, h, height=3.4, width=max(4.0, 1.6 * h + 1))
    for i in range(h):
        for r, lab in enumerate(("x0", "x1")):
            im = ax[r, i].imshow(g[i, r], cmap=CMAP, vmin=0, vmax=1, origin="lower", interpolation="nearest")
            ax[r, i].set_title(f"head {i}: '=' -> {lab}")
            ax[r, i].grid(False)
            ax[r, i].set_xlabel("x1")
            ax[r, i].set_ylabel("x0")
    fig.colorbar(im, ax=ax, label="attention weight", shrink=0.8)
    fig.suptitle(f"Attention from '=' to the digits — {_title(n)}")
    return fig


@styled
def grad_norms(n: dict, a: dict) -> Figure:
    g, e, names = a["grad_norms"], a["grad_epochs"], a["grad_names"]
    fig, ax = figure(1, 1, height=0.35 * max(len(names), 4) + 1.2)
    ax = ax[0, 0]
    if g.size:
        x = _t(e)
        edges = np.concatenate([[x[0] / 1.5], np.sqrt(x[1:] * x[:-1]), [x[-1] * 1.5]]) if len(x) > 1 else np.array([x[0] / 2, x[0] * 2])
        pos = g[np.isfinite(g) & (g > 0)]
        norm = LogNorm(vmin=pos.min(), vmax=pos.max()) if pos.size else None
        im = ax.pcolormesh(edges, np.arange(len(names) + 1), np.ma.masked_invalid(g), cmap=CMAP, norm=norm)
        ax.set_yticks(np.arange(len(names)) + 0.5, names)
        ax.set_xscale("log", base=2)
        fig.colorbar(im, ax=ax, label="gradient L2 norm")
    ax.set_xlabel("epoch (full-batch steps)")
    ax.set_title(f"Gradient norm per weight matrix — {_title(n)}")
    ax.grid(False)
    return fig
