"""One figure per analysis of a run, drawn from ``pipelines.analyze.compute_run``'s output.

Every function takes the numbers (one entry of analysis.json's "runs") and the arrays,
and returns a matplotlib Figure; nothing here reads or writes files.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullLocator

from ..analysis.fourier import basis_names, fourier_2d
from .style import CMAP, DIVERGING, PALETTE, WIDTH, figure, log_epoch_axis, styled


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
            ax[0, j].plot(_t(cv["epochs"]), cv[f"valid_{key}"][:, s],
                          label=f"q={q}" if len(qs) <= 12 or s % 4 == 0 else None, **kw)
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
    ax[0, 1].set_xticks(range(0, len(names), max(1, len(names) // 6)),
                        [names[i] for i in range(0, len(names), max(1, len(names) // 6))], rotation=45)
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
        ax[1, j].imshow(spec[j], cmap=CMAP, origin="lower", interpolation="nearest",
                        norm=LogNorm(vmin=max(spec[j].max() * 1e-2, 1e-9), vmax=max(spec[j].max(), 1e-8)))
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
        edges = (np.concatenate([[x[0] / 1.5], np.sqrt(x[1:] * x[:-1]), [x[-1] * 1.5]]) if len(x) > 1
                 else np.array([x[0] / 2, x[0] * 2]))
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
        edges = (np.concatenate([[x[0] / 1.5], np.sqrt(x[1:] * x[:-1]), [x[-1] * 1.5]]) if len(x) > 1
                 else np.array([x[0] / 2, x[0] * 2]))
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


# One basis per prime? (analysis.subtasks.per_subtask; docs/per-subtask.md)


def _no_subtasks(n: dict, what: str) -> Figure:
    fig, ax = figure(1, 1, height=1.6)
    ax[0, 0].axis("off")
    ax[0, 0].text(0.5, 0.5, f"task={n['config']['task']}: no sub-task per prime q, so no per-sub-task analysis",
                  ha="center", va="center", transform=ax[0, 0].transAxes)
    fig.suptitle(f"{what} — {_title(n)}")
    return fig


def _qk_grid(per: dict, values) -> tuple[list[int], np.ndarray]:
    """(sub-tasks, q x k array over k = 1 .. max q // 2, NaN where k > q // 2) from values(q, entry)."""
    qs = sorted(per, key=int)
    kmax = max(int(q) // 2 for q in qs)
    g = np.full((len(qs), kmax), np.nan)
    for i, q in enumerate(qs):
        v = values(q, per[q])
        g[i, :len(v)] = v
    return [int(q) for q in qs], g


@styled
def subtask_energy(n: dict, a: dict) -> Figure:
    """W_E's energy share per (q, k) with the key pairs boxed, beside the serving neurons' best k's."""
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    per = n.get("per_subtask")
    if not per:
        return _no_subtasks(n, "W_E energy per sub-task")
    qs, energy = _qk_grid(per, lambda q, v: v["energy"])
    _, counts = _qk_grid(per, lambda q, v: [v["neuron_freqs"].get(str(k), 0) for k in range(1, int(q) // 2 + 1)])
    kmax = energy.shape[1]
    fig, ax = figure(1, 2, height=0.28 * len(qs) + 1.6, width=max(WIDTH, 0.3 * kmax * 2 + 2.5))
    cmap = matplotlib.colormaps[CMAP].with_extremes(bad="white")  # k > q // 2: no such pair
    for j, (g, label, title) in enumerate(((energy, "share of W_E's centred energy", "W_E energy per (q, k)"),
                                           (counts, "neurons", "neurons serving q, by their best k"))):
        im = ax[0, j].imshow(np.ma.masked_invalid(g), cmap=cmap, aspect="auto", interpolation="nearest",
                             extent=(0.5, kmax + 0.5, len(qs) - 0.5, -0.5), vmin=0)
        fig.colorbar(im, ax=ax[0, j], label=label)
        ax[0, j].set_yticks(range(len(qs)), [str(q) for q in qs])
        ax[0, j].set_xticks(range(1, kmax + 1, max(1, kmax // 12)))
        ax[0, j].set_xlabel("frequency k (cycles per q tokens)")
        ax[0, j].set_ylabel("sub-task q")
        ax[0, j].set_title(title)
        ax[0, j].grid(False)
    for i, q in enumerate(map(str, qs)):
        for k in per[q]["key_freqs"]:
            amb = bool(per[q]["ambiguous"][str(k)])
            settled = amb and per[q].get("resolved", {}).get(str(k), False)
            for j in (0, 1):  # red shows on both ends of viridis; the line style tells the kinds apart
                ax[0, j].add_patch(Rectangle((k - 0.5, i - 0.5), 1, 1, fill=False, lw=1.8, ec=PALETTE[3],
                                             ls="--" if amb else "-"))
            if settled:
                ax[0, 0].text(k, i, "s", ha="center", va="center", color="white", fontsize=7, fontweight="bold")
    legend = [Line2D([], [], color=PALETTE[3], lw=1.8, label="key pair of W_E, own (no key alias of another q)"),
              Line2D([], [], color=PALETTE[3], lw=1.8, ls="--", label="key pair, ambiguous (s: the neurons settle it)")]
    fig.legend(handles=legend, loc="outside lower center", ncols=2)
    fig.suptitle(f"One basis per prime? W_E per sub-task — {_title(n)}")
    return fig


@styled
def subtask_progress(n: dict, a: dict) -> Figure:
    """Per sub-task: restricted and excluded loss at the checkpoints, validation accuracy on a twin axis."""
    per = n.get("per_subtask")
    if not per:
        return _no_subtasks(n, "Progress measures per sub-task")
    qs = sorted(per, key=int)
    cols = min(len(qs), 4 if len(qs) <= 12 else 6)
    rows = -(-len(qs) // cols)
    fig, ax = figure(rows, cols, height=1.9 * rows + 0.9, width=max(WIDTH, 2.3 * cols), sharex=True, sharey=True)
    cv = a.get("curves")
    subtasks = list(n["subtasks"])
    for j, q in enumerate(qs):
        x = ax[j // cols, j % cols]
        pr = per[q].get("progress") or {"epochs": [], "restricted_loss": [], "excluded_loss": []}
        e = _t(np.asarray(pr["epochs"]))
        floor = 1e-6  # a loss that reaches 0 in float64 still shows on the log axis
        x.plot(e, np.maximum(np.asarray(pr["restricted_loss"], float), floor), color=PALETTE[0], marker=".",
               label="restricted (key k's only)")
        x.plot(e, np.maximum(np.asarray(pr["excluded_loss"], float), floor), color=PALETTE[3], marker=".", ls="--",
               label="excluded (key k's removed)")
        x.axhline(1.0, color=PALETTE[7], lw=0.8, ls=":")
        x.set_yscale("log")
        x.set_title(f"q = {q}, k = {', '.join(map(str, per[q]['loss_ks'])) or 'none'}", fontsize=8)
        s = subtasks.index(int(q)) if int(q) in subtasks else None
        if cv is not None and s is not None and len(cv["epochs"]):
            tw = x.twinx()
            tw.plot(_t(cv["epochs"]), cv["valid_accuracy"][:, s], color=PALETTE[2], lw=0.9, alpha=0.8,
                    label="validation accuracy (right)")
            tw.set_ylim(0, 1.05)
            tw.grid(False)
            if j % cols != cols - 1 and j != len(qs) - 1:
                tw.set_yticklabels([])
            else:
                tw.set_ylabel("accuracy")
        g = n["grok_epoch"][s] if s is not None else None
        if g is not None:
            x.axvline(_t(np.asarray([g]))[0], color=PALETTE[2], lw=0.8, ls="-.")
        log_epoch_axis(x, pr["epochs"] or [0, 1])
        x.yaxis.set_major_locator(LogLocator(numticks=5))
        x.yaxis.set_minor_locator(NullLocator())  # many small log panels: minor ticks cost most of the rendering
        x.xaxis.set_minor_locator(NullLocator())
        if j % cols:
            x.set_ylabel("")
        else:
            x.set_ylabel("loss / ln q")
        if j // cols != rows - 1:
            x.set_xlabel("")
    for j in range(len(qs), rows * cols):
        ax[j // cols, j % cols].axis("off")
    handles, labels = ax[0, 0].get_legend_handles_labels()
    twins = [t for t in fig.axes if t not in ax.ravel()]
    if twins:
        h2, l2 = twins[0].get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    fig.suptitle("Progress measures per sub-task (keys of the analysed epoch; dotted: chance, dash-dot: grok epoch)"
                 f" — {_title(n)}")
    return fig


@styled
def subtask_neurons(n: dict, a: dict) -> Figure:
    """Neurons per sub-task: by W_U share, by features, serving (both), and shared."""
    per = n.get("per_subtask")
    if not per:
        return _no_subtasks(n, "Neurons per sub-task")
    qs = sorted(per, key=int)
    bars = (("neurons_by_attribution", "largest W_U share"), ("neurons_by_features", "best pair of q (>= 50 %)"),
            ("neurons", "serving q (both)"), ("shared_neurons", "shared (a real share for q and another q)"))
    fig, ax = figure(1, 1, height=3.0, width=max(WIDTH, 0.45 * len(qs) + 2))
    x = np.arange(len(qs))
    w = 0.8 / len(bars)
    for j, (key, label) in enumerate(bars):
        ax[0, 0].bar(x + (j - (len(bars) - 1) / 2) * w, [per[q][key] for q in qs], w, color=PALETTE[j], label=label)
    ax[0, 0].set_xticks(x, qs)
    ax[0, 0].set_xlabel("sub-task q")
    ax[0, 0].set_ylabel("neurons")
    total = n.get("neurons", {}).get("n_neurons")
    served = sum(per[q]["neurons"] for q in qs)
    ax[0, 0].set_title(f"{served} of {total} neurons serve one sub-task" if total
                       else f"{served} neurons serve one sub-task")
    ax[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Neurons per sub-task — {_title(n)}")
    return fig
