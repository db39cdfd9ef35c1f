"""Analyse a run directory: load it, call the pure analyses, write analysis.json and figures.

``analyze_run(run_dir, epoch=None, run=None) -> dict`` returns the numbers (what
``analysis.json`` holds) without writing anything; ``write_analysis`` also draws the
figures and writes ``RUN/analysis/analysis.json`` and ``RUN/analysis/figures/*.svg|png``.
``compute_run`` returns, per run, the numbers and the arrays the figures are drawn from.

Per checkpoint (``RunDir.param_epochs()`` up to the analysed epoch) there is one forward pass per
run; it gives the dominant frequencies (omega) and, for tasks with prime sub-tasks, each sub-task's
progress measures (``per_subtask[q]["progress"]``): the restricted and excluded loss with the key
k's fixed at the analysed checkpoint (as Nanda et al. fix theirs at the end of training), so only
the projection is computed per checkpoint, not the whole ``per_subtask``. The untrained reference
models depend on the shape only and are built once per shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import gradients, neurons
from ..analysis.activations import last_block
from ..analysis.summary import (
    N_REF,
    analyze_params,
    reference,
    reference_shape,
    run_with_cache,
    subtask_params,
    subtask_progress,
)
from ..config import ConfigError
from ..measures import grok, omega
from ..plots.style import render
from ..report import all_figures
from ..store import RunDir, atomic_write, jsonable, write_json

# analysis.json's layout; a report re-analyses a run whose analysis.json has another (older) one.
SCHEMA = 2


@dataclass
class RunAnalysis:
    numbers: dict[str, Any]  # JSON-able: one entry of analysis.json's "runs"
    arrays: dict[str, Any]  # what the figures need beyond the numbers


def _curves(metrics: pd.DataFrame, run: int, subtasks: list[int]) -> dict[str, np.ndarray]:
    m = metrics[metrics.run == run]
    out: dict[str, np.ndarray] = {"epochs": np.array(sorted(m.epoch.unique()))}
    for split in ("train", "valid"):
        part = m[m.split == split]
        for col in ("accuracy", "loss"):
            tab = part.pivot(index="epoch", columns="subtask", values=col)
            out[f"{split}_{col}"] = tab.reindex(index=out["epochs"], columns=subtasks).to_numpy(np.float64)
    return out


def _omega_counts(table: pd.DataFrame, run: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    w = table[table.run == run]
    epochs = np.array(sorted(w.epoch.unique()))
    counts = np.zeros((len(epochs), p // 2 + 1), np.int64)
    counts[np.searchsorted(epochs, w.epoch.to_numpy()), w.frequency.to_numpy()] = w.neurons.to_numpy()
    return epochs, counts


def _grad_norms(table: pd.DataFrame, run: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    g = table[table.run == run]
    if g.empty:
        return np.zeros(0, np.int64), np.zeros((0, 0)), []
    order = list(dict.fromkeys(g.matrix))  # recorded order: W_E, W_pos, blocks..., W_U
    tab = g.pivot(index="matrix", columns="epoch", values="norm").reindex(order)
    return tab.columns.to_numpy(), tab.to_numpy(np.float64), order


def _over_checkpoints(rd: RunDir, upto: int, cfgs: dict[int, Any], min_frac: dict[int, float], progress: dict[int, Any]
                      ) -> tuple[list[int], dict[int, list[list[int]]], dict[int, dict[str, Any]]]:
    """One pass over the checkpoint epochs <= upto, one forward pass per run and checkpoint: the
    frequencies that dominate neurons, and the per-sub-task progress measures of the runs in
    ``progress`` (run -> ``summary.subtask_progress``, key k's fixed at the analysed checkpoint)."""
    epochs = [e for e in rd.param_epochs() if e <= upto]
    out: dict[int, list[list[int]]] = {i: [] for i in cfgs}
    curves: dict[int, dict[str, Any]] = {i: {} for i in progress}
    for e in epochs:
        stacked, _ = rd.load_params(e)
        for i, cfg in cfgs.items():
            params = {k: v[i] for k, v in stacked.items()}
            logits, cache = run_with_cache(params, cfg.p, cfg.readout)
            grids = neurons.neuron_grids(cache[last_block(params) + "mlp.hook_post"][:, 0, :], cfg.p)
            top, frac = neurons.top_freqs(neurons.freq_fractions(grids))
            out[i].append(neurons.dominant_freqs(top, frac, min_frac[i]))
            if i in progress:
                for q, (restricted, excluded) in progress[i](logits).items():
                    c = curves[i].setdefault(q, {"epochs": [], "restricted_loss": [], "excluded_loss": []})
                    c["epochs"].append(e)
                    c["restricted_loss"].append(restricted)
                    c["excluded_loss"].append(excluded)
    return epochs, out, curves


def compute_run(
    rd: RunDir, epoch: int | None = None, run: int | None = None
) -> tuple[dict[str, Any], list[RunAnalysis]]:
    """Header (run dir, epoch, task) and one RunAnalysis per selected run."""
    summary = rd.require_complete()
    grid = rd.grid()
    if run is not None and not 0 <= run < len(grid.runs):
        raise ConfigError(f"--run: index {run} out of range; "
                          f"{rd.path} holds {len(grid.runs)} run(s) (0..{len(grid.runs) - 1})")
    stacked, ep = rd.load_params(epoch)
    subtasks = [int(q) for q in summary["subtasks"]]
    metrics, gtab, wtab = rd.read_table("metrics"), rd.read_table("grad_norms"), rd.read_table("omega")
    selected = list(range(len(grid.runs))) if run is None else [run]
    by_shape: dict[tuple, tuple[np.ndarray, float]] = {}  # the untrained null depends on the shape only
    refs = {}
    for i in selected:
        shape = reference_shape(grid.runs[i])
        if shape not in by_shape:
            by_shape[shape] = reference(grid.runs[i])
        refs[i] = by_shape[shape]
    min_frac = {i: max(0.5, refs[i][1]) for i in selected}
    analysed, progress = {}, {}
    for i in selected:
        cfg = grid.runs[i]
        params = {k: v[i] for k, v in stacked.items()}
        per = None
        if all(np.isfinite(v).all() for v in params.values()):
            nums, arrays = analyze_params(params, cfg)
            per = subtask_params(params, cfg)  # None for a task without prime sub-tasks (nanda, divisible)
            if per is not None:
                progress[i] = subtask_progress(per, cfg)
        else:  # a diverged run: its curves are all there is to analyse
            nums, arrays = {}, {"current_omega": np.zeros(cfg.p // 2 + 1, np.int64)}
        analysed[i] = nums, arrays, per
    dom_epochs, dominant, curves = _over_checkpoints(rd, ep, {i: grid.runs[i] for i in selected}, min_frac, progress)
    results = []
    for i in selected:
        cfg = grid.runs[i]
        nums, arrays, per = analysed[i]
        for q, c in curves.get(i, {}).items():
            per[q]["progress"] = c  # restricted / excluded loss per checkpoint, keys of the analysed one
        diverged = summary["runs"][i].get("diverged_epoch")
        cv = _curves(metrics, i, subtasks)
        timed = grok.grok_all(cv["epochs"], cv["valid_accuracy"], n_valid=cfg.p**2 - cfg.n_train,
                              budget=cfg.epochs)
        groks = [g.epoch for g in timed]
        w_epochs, counts = _omega_counts(wtab, i, cfg.p)
        ref = refs[i][0]
        threshold = omega.calibrated_threshold(ref)
        g_epochs, g_norms, g_names = _grad_norms(gtab, i)
        at = cv["epochs"] <= ep
        nums = {
            "run": i,
            "config": cfg.to_dict(),
            "subtasks": subtasks,
            "diverged_epoch": diverged,
            "grok_epoch": groks,  # per sub-task, as in summary.json (docs/analysis.md, grok rule)
            "grok_first": [g.first for g in timed],
            "grok_sustained": [g.sustained for g in timed],
            "grok_censored": [g.censored for g in timed],
            "grok_order": grok.grok_order(subtasks, groks),
            "time_to_grok": summary["runs"][i].get("time_to_grok") or grok.time_to_grok(
                timed, [q not in cfg.loss_mask for q in subtasks]),
            "final_train_acc": np.asarray(cv["train_accuracy"][at][-1]).tolist(),  # per sub-task
            "final_valid_acc": np.asarray(cv["valid_accuracy"][at][-1]).tolist(),
            **nums,
            "omega": {
                "definitions": omega.DEFINITIONS,
                "k": cfg.omega_k,
                "epochs": w_epochs.tolist(),
                "count": (counts[:, 1:] > 0).sum(1).tolist(),
                "freqs_at_epoch": [int(f) for f in np.flatnonzero(arrays["current_omega"][1:]) + 1],
                "count_at_epoch": int((arrays["current_omega"][1:] > 0).sum()),
                "reference_count": float((ref[:, 1:] > 0).sum(1).mean()),
                "saturated": omega.saturated(ref),
                "calibrated_threshold": threshold,
                "count_calibrated": omega.calibrated_count(counts, threshold).tolist(),
                "freqs_calibrated": [int(f) for f in np.flatnonzero(counts[-1, 1:] > threshold) + 1]
                if len(counts) else [],
                "n_reference_models": N_REF,
                "dominant_min_frac": min_frac[i],
                "dominant_epochs": dom_epochs,
                "count_dominant": [len(f) for f in dominant[i]],
                "freqs_dominant": dominant[i][-1] if dominant[i] else [],
            },
            "grad_norms": gradients.grad_norm_summary(g_epochs, g_norms, g_names),
        }
        if per is not None:
            nums["per_subtask"] = per
        arrays |= {"curves": cv, "omega_epochs": w_epochs, "omega_counts": counts,
                   "grad_epochs": g_epochs, "grad_norms": g_norms, "grad_names": g_names}
        results.append(RunAnalysis(nums, arrays))
    head = {"schema": SCHEMA, "run_dir": str(rd.path), "epoch": ep, "task": grid.base.task, "p": grid.base.p,
            "n_runs": len(grid.runs), "varying": sorted(grid.axes), "subtasks": subtasks}
    return head, results


def analyze_run(run_dir: str | Path, epoch: int | None = None, run: int | None = None) -> dict[str, Any]:
    """The numbers of ``analysis.json`` for a complete run directory (nothing is written)."""
    head, results = compute_run(RunDir(run_dir), epoch, run)
    return head | {"runs": [r.numbers for r in results]}


def write_analysis(run_dir: str | Path, epoch: int | None = None, run: int | None = None,
                   figures: bool = True, formats: tuple[str, ...] = ("svg", "png")) -> dict[str, Any]:
    """Compute, draw and write RUN/analysis/analysis.json and RUN/analysis/figures/.

    Figures are written in ``formats`` plus PNG, which the report embeds.
    """
    formats = tuple(dict.fromkeys((*formats, "png")))
    rd = RunDir(run_dir)
    head, results = compute_run(rd, epoch, run)
    out = rd.path / "analysis"
    doc = head | {"runs": [r.numbers for r in results]}
    if figures:
        for r in results:
            files = {}
            only = ["curves"] if "fourier" not in r.numbers else None  # diverged: no parameters to draw
            for name, fig in all_figures(r.numbers, r.arrays, only):
                for ext, data in render(fig, formats).items():
                    path = out / "figures" / f"{name}_run{r.numbers['run']}.{ext}"
                    atomic_write(path, data)
                    files.setdefault(name, {})[ext] = str(path.relative_to(out))
            r.numbers["figures"] = files
    write_json(out / "analysis.json", jsonable(doc))
    return doc
