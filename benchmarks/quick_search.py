"""Search for the `quick` preset: many candidate settings at once with the multi-run.

    python benchmarks/quick_search.py p=23 train_frac=0.8 epochs=8192 lr=1e-3,3e-3 weight_decay=1,3

Prints, per run, the varying values, every sub-task's final validation accuracy and grok epoch,
and the wall time of the whole multi-run. Used to choose the preset (docs/results.md, how quick was chosen).
"""

import sys
import time

import numpy as np

from miiii import train
from miiii.config import parse_overrides, preset
from miiii.measures.grok import grok_epochs


def main(argv: list[str]) -> None:
    grid = parse_overrides(preset("quick"), argv)
    t0 = time.perf_counter()
    state, logs, s = train.train(grid, record_omega=False)
    m = np.asarray(logs.metrics)
    secs = time.perf_counter() - t0
    qs = s.task.subtasks
    print(f"{len(s.runs)} runs, {s.cfg.epochs} epochs, {secs:.0f} s "
          f"({s.cfg.epochs * len(s.runs) / secs:.1f} run-epochs/s); subtasks {qs}")
    for r, cfg in enumerate(s.runs):
        va = m[-1, r, 3]
        g = grok_epochs(s.epochs, m[:, r, 3, :], n_valid=cfg.p**2 - cfg.n_train, budget=cfg.epochs)
        vary = " ".join(f"{k}={cfg.to_dict()[k]}" for k in grid.varying)
        print(f"[{vary}] mean {va.mean():.3f} min {va.min():.3f} | "
              + " ".join(f"{q}:{a:.2f}" for q, a in zip(qs, va)) + " | grok " + str(g))
    # time course of the mean validation accuracy, for choosing the budget
    idx = np.linspace(0, len(s.epochs) - 1, 9).astype(int)
    for r in range(len(s.runs)):
        print(f"run {r} mean valid acc at", {int(s.epochs[i]): round(float(m[i, r, 3].mean()), 2) for i in idx})


if __name__ == "__main__":
    main(sys.argv[1:])
