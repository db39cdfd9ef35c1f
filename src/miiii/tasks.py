"""The tasks of docs/study.md: inputs, targets per sub-task, loss masks and splits.

Every task sees all p^2 pairs (x0, x1) as the sequence ``[x0, x1, =]`` with ``=`` = p.
Sample ``i`` is the pair ``(x0, x1) = (i // p, i % p)``, so any per-sample array of
length p^2 reshapes to a (x0, x1) grid with ``.reshape(p, p)``.

Data are built once, on the host, with NumPy; training moves them to the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from .config import Config, primes_below


@dataclass(frozen=True)
class Task:
    """What a task predicts: one sub-task per entry, each with its own class count."""

    name: str
    p: int
    subtasks: tuple[int, ...]  # the modulus (prime) each sub-task is about
    n_classes: tuple[int, ...]  # classes of each sub-task (q, 2 for divisible, p for nanda)

    @property
    def n_out(self) -> int:
        """Width of the unembedding: every sub-task's classes side by side."""
        return sum(self.n_classes)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(o) for o in np.cumsum((0,) + self.n_classes[:-1]))


def task_of(cfg: Config) -> Task:
    if cfg.task == "nanda":
        return Task("nanda", cfg.p, (cfg.p,), (cfg.p,))
    qs = primes_below(cfg.p)
    if cfg.task == "divisible":
        return Task("divisible", cfg.p, qs, (2,) * len(qs))
    return Task(cfg.task, cfg.p, qs, qs)


def inputs(p: int) -> Int[np.ndarray, "n 3"]:
    x0, x1 = np.divmod(np.arange(p * p), p)
    return np.stack([x0, x1, np.full_like(x0, p)], axis=1).astype(np.int32)


def targets(cfg: Config) -> Int[np.ndarray, "n subtask"]:
    """Labels of every sample for every sub-task (docs/study.md, tasks)."""
    p = cfg.p
    x = inputs(p)
    n = x[:, 0].astype(np.int64) + p * x[:, 1].astype(np.int64)  # x0 * p^0 + x1 * p^1
    if cfg.task == "nanda":
        return ((x[:, 0] + x[:, 1]) % p)[:, None].astype(np.int32)
    qs = np.array(primes_below(p), dtype=np.int64)
    y = n[:, None] % qs[None, :]
    if cfg.task == "divisible":
        return (y == 0).astype(np.int32)
    if cfg.task == "basis":
        # Whole target rows move together: each sub-task keeps its label counts, and the
        # joint label distribution is kept too; only the link to the input is destroyed.
        rng = np.random.default_rng([cfg.split_seed, 1])
        y = y[rng.permutation(len(y))]
    return y.astype(np.int32)


def split(cfg: Config) -> tuple[Int[np.ndarray, " n_train"], Int[np.ndarray, " n_valid"]]:
    """A seeded random permutation of the p^2 samples; the first ``n_train`` train."""
    order = np.random.default_rng([cfg.split_seed, 0]).permutation(cfg.p * cfg.p)
    return np.sort(order[: cfg.n_train]).astype(np.int32), np.sort(order[cfg.n_train:]).astype(np.int32)


def loss_weights(cfg: Config) -> Float[np.ndarray, " subtask"]:
    """0 for masked sub-tasks (still evaluated); q ** q_power for the others (1 by default)."""
    task = task_of(cfg)
    qs = np.asarray(task.subtasks, np.float64)
    return np.where(np.isin(qs, cfg.loss_mask), 0.0, qs ** cfg.q_power)
