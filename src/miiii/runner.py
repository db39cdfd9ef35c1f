"""Train a grid into a run directory: chunks, checkpoints, resume, summary.

Checkpoint policy: parameters at epoch 0, every power of two, every ``ckpt_every`` epochs and
the end (``train.checkpoint_epochs``); the full training
state (parameters, AdamW and GrokFast state, RNG key) at every power of two, whenever
``checkpoint_seconds`` of wall time have passed, and at the end, replacing the older one.
A resumed run replays exactly the same compiled steps from the same state, so its final
parameters are bit-identical to an uninterrupted run's on the same machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pandas as pd

from . import train
from .config import Grid
from .measures.grok import grok_all, time_to_grok
from .store import RunDir, jsonable, write_json

Progress = Callable[[int, int, dict[str, float]], None]


def _is_pow2(e: int) -> bool:
    return e > 0 and e & (e - 1) == 0


class _Records:
    """Logged rows kept on the host, turned into long tables when saved."""

    def __init__(self, s: train.Setup):
        self.s = s
        self.epochs: list[int] = []
        self.metrics: list[np.ndarray] = []  # (R, 4, S)
        self.norms: list[np.ndarray] = []  # (R, M)
        self.omega: list[np.ndarray] = []  # (R, F)

    def add(self, epoch: int, m: np.ndarray, g: np.ndarray, w: np.ndarray) -> None:
        self.epochs.append(epoch)
        self.metrics.append(m)
        self.norms.append(g)
        self.omega.append(w)

    def add_slots(self, logs: train.Logs, lo: int, hi: int) -> None:
        """Rows for logged epochs in (lo, hi]."""
        idx = [i for i, e in enumerate(self.s.epochs) if lo < e <= hi]
        if not idx:
            return
        m, g, w = (np.asarray(a[np.asarray(idx)]) for a in logs)
        for j, i in enumerate(idx):
            self.add(int(self.s.epochs[i]), m[j], g[j], w[j])

    def tables(self) -> dict[str, pd.DataFrame]:
        s = self.s
        E = np.asarray(self.epochs)
        M = np.stack(self.metrics)  # (T, R, 4, S)
        T, R, _, S = M.shape
        subtasks = np.asarray(s.task.subtasks)
        rows = []
        for split, (li, ai) in (("train", (0, 1)), ("valid", (2, 3))):
            rows.append(pd.DataFrame({
                "run": np.tile(np.repeat(np.arange(R), S), T),
                "epoch": np.repeat(E, R * S),
                "split": split,
                "subtask": np.tile(subtasks, T * R),
                "loss": M[:, :, li, :].reshape(-1),
                "accuracy": M[:, :, ai, :].reshape(-1),
            }))
        metrics = pd.concat(rows, ignore_index=True).sort_values(["run", "epoch", "split", "subtask"],
                                                                  ignore_index=True)
        G = np.stack(self.norms)
        n_mat = G.shape[-1]
        grads = pd.DataFrame({"run": np.tile(np.repeat(np.arange(R), n_mat), T),
                              "epoch": np.repeat(E, R * n_mat),
                              "matrix": np.tile(np.asarray(s.matrices), T * R),
                              "norm": G.reshape(-1)}).dropna()
        W = np.stack(self.omega)
        F = W.shape[-1]
        om = pd.DataFrame({"run": np.tile(np.repeat(np.arange(R), F), T),
                           "epoch": np.repeat(E, R * F),
                           "frequency": np.tile(np.arange(F), T * R),
                           "neurons": W.reshape(-1)})
        return {"metrics": metrics, "grad_norms": grads, "omega": om[om.frequency > 0]}

    @classmethod
    def from_tables(cls, s: train.Setup, rd: RunDir, upto: int) -> _Records:
        rec = cls(s)
        m = rd.read_table("metrics")
        g = rd.read_table("grad_norms")
        w = rd.read_table("omega")
        R, S, M, F = s.n_runs, len(s.task.subtasks), len(s.matrices), s.cfg.p // 2 + 1
        for e in sorted(set(m.epoch[m.epoch <= upto])):
            me = m[m.epoch == e].sort_values(["run", "split", "subtask"])
            arr = np.empty((R, 4, S), np.float32)
            for k, split in enumerate(("train", "valid")):
                part = me[me.split == split]
                arr[:, 2 * k] = part.loss.to_numpy().reshape(R, S)
                arr[:, 2 * k + 1] = part.accuracy.to_numpy().reshape(R, S)
            ge = g[g.epoch == e]
            gn = np.full((R, M), np.nan, np.float32)
            if len(ge):
                order = {n: i for i, n in enumerate(s.matrices)}
                gn[ge.run.to_numpy(), [order[x] for x in ge.matrix]] = ge.norm.to_numpy()
            we = w[w.epoch == e]
            om = np.zeros((R, F), np.int32)
            om[we.run.to_numpy(), we.frequency.to_numpy()] = we.neurons.to_numpy()
            rec.add(int(e), arr, gn, om)
        return rec


def summary_of(s: train.Setup, rec: _Records, seconds: float,
               clock: list[tuple[int, float]] | None = None) -> dict[str, Any]:
    M = np.stack(rec.metrics)  # (T, R, 4, S)
    E = np.asarray(rec.epochs)
    runs = []
    for r, cfg in enumerate(s.runs):
        groks = grok_all(E, M[:, r, 3, :], n_valid=cfg.p**2 - cfg.n_train, budget=cfg.epochs)
        bad = np.flatnonzero(~np.isfinite(M[:, r, 0, :]).all(-1))  # a non-finite training loss
        runs.append({
            "config": cfg.to_dict(),
            "final_train_acc": jsonable(M[-1, r, 1].tolist()),
            "final_valid_acc": jsonable(M[-1, r, 3].tolist()),
            "final_valid_loss": jsonable(M[-1, r, 2].tolist()),
            "grok_epoch": [g.epoch for g in groks],  # the contract: sustained, not censored
            "grok_first": [g.first for g in groks],
            "grok_sustained": [g.sustained for g in groks],
            "grok_censored": [g.censored for g in groks],
            "diverged_epoch": int(E[bad[0]]) if bad.size else None,
            "time_to_grok": time_to_grok(groks, [q not in cfg.loss_mask for q in s.task.subtasks], clock),
            "seconds": round(seconds, 3),
        })
    out = {"complete": True, "epochs": s.cfg.epochs, "subtasks": list(s.task.subtasks), "runs": runs}
    if clock:
        out["clock"] = [[int(e), round(float(t), 3)] for e, t in clock]
    return out


def train_run(grid: Grid, out: str, progress: Progress | None = None, checkpoint_seconds: float = 300.0,
              record_omega: bool = True, deadline: float | None = None) -> dict[str, Any]:
    """Train ``grid`` into ``out``, resuming from its newest state if it has one.

    ``deadline`` (a ``time.monotonic()`` value): past it, training stops at the next chunk
    boundary with its state and tables saved, and returns ``{"complete": False,
    "epochs_reached": e, ...}`` without writing ``summary.json``; re-running resumes.
    """
    rd = RunDir(out)
    rd.check_compatible(grid)  # a foreign directory is refused before anything (the lock too) is written
    with rd.lock():
        return _train_run(rd, grid, progress, checkpoint_seconds, record_omega, deadline)


def _train_run(rd: RunDir, grid: Grid, progress: Progress | None, checkpoint_seconds: float, record_omega: bool,
               deadline: float | None) -> dict[str, Any]:
    existing = rd.check_compatible(grid)
    if existing and rd.summary() is not None:
        return rd.summary()
    s = train.setup(grid)
    t = train.Trainer(s, record_omega)
    state = train.init_state(s)
    loaded = rd.load_state(state) if existing else None
    if loaded is not None:
        state, meta = loaded
        state = train._place(jax.tree.map(jax.numpy.asarray, state), s.n_runs)
        epoch, seconds = int(meta["epoch"]), float(meta["seconds"])
        clock = [tuple(x) for x in meta.get("clock", [])]  # an older state has none: times from here on
        rec = _Records.from_tables(s, rd, epoch)
    else:
        rd.write_config(grid)
        epoch, seconds = 0, 0.0
        clock = []
        rec = _Records(s)
        m, w = t.eval_now(state)
        rec.add(0, m, np.full((s.n_runs, len(s.matrices)), np.nan, np.float32), w)
        rd.save_params(0, state.params)
        rd.write_tables(rec.tables())
    logs = t.empty_logs()
    E = s.cfg.epochs
    t0, last_save = time.perf_counter() - seconds, time.perf_counter()
    keep = set(train.checkpoint_epochs(s.cfg))
    for end in train.chunk_ends(s.cfg, epoch):
        state, logs = t.run(state, logs, epoch, end)
        rec.add_slots(logs, epoch, end)
        epoch = end
        clock.append((epoch, time.perf_counter() - t0))
        if epoch in keep:
            rd.save_params(epoch, state.params)
        out_of_time = deadline is not None and time.monotonic() >= deadline and epoch < E
        if _is_pow2(epoch) or epoch == E or out_of_time or time.perf_counter() - last_save >= checkpoint_seconds:
            rd.write_tables(rec.tables())
            rd.save_state(state, {"epoch": epoch, "seconds": time.perf_counter() - t0, "clock": clock})
            last_save = time.perf_counter()
        if progress is not None:
            last = rec.metrics[-1]
            progress(epoch, E, {"train_acc": float(np.nanmean(last[:, 1])),
                                "valid_acc": float(np.nanmean(last[:, 3]))})
        if out_of_time:
            return {"complete": False, "epochs": E, "epochs_reached": epoch, "subtasks": list(s.task.subtasks),
                    "seconds": round(time.perf_counter() - t0, 3)}
    seconds = time.perf_counter() - t0  # tables and state were written at epoch E in the loop
    rd.save_final(E, state.params)
    summary = summary_of(s, rec, seconds, clock)
    write_json(rd.summary_path, summary)
    return summary
