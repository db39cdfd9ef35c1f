"""The sweep worker loop: ask K trials, train them as one vmapped multi-run, tell the results.

See ``docs/sweep.md`` for the objective and the rules (quota, surplus, heartbeats, retries, run
directories named by root trial numbers).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config, Grid
from ..runner import train_run
from .space import Space, objective, shape_of
from .storage import heartbeat_enabled, record_heartbeat, storage_of


class _Heartbeat:
    """Beats for a batch's trials while they train (Optuna's own thread does one trial)."""

    def __init__(self, storage: Any, trials: list[Any]):
        self.storage, self.trials = storage, trials
        self.interval = storage.get_heartbeat_interval() if heartbeat_enabled(storage) else None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _beat(self) -> None:
        for t in self.trials:
            record_heartbeat(self.storage, t)

    def _loop(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self._beat()
            except Exception:  # a storage hiccup: beat again next interval
                pass

    def __enter__(self) -> _Heartbeat:
        if self.interval:
            self._beat()  # at once: a trial without any heartbeat is never seen as stale
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


def root(trial: Any) -> int:
    """The number of the first attempt of a (possibly retried) trial (a FrozenTrial)."""
    return int(trial.system_attrs.get("failed_trial", trial.number))


def _ask(study: Any, space: Space, k: int, n_trials: int,
         pending: dict[int, Any]) -> tuple[list[Any], list[Any], dict[int, int]]:
    """Ask for k trials sharing shapes: (in quota, surplus) optuna Trials and each one's root.

    Each trial goes into ``pending`` and gets its first heartbeat as soon as it exists: a
    running trial that never beat would never be seen as stale, and would block the study.
    """
    from optuna.trial import TrialState

    dists = space.distributions()
    storage = storage_of(study)
    beat = heartbeat_enabled(storage)
    asked: list[Any] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Heartbeat of storage.*")
        for i in range(k):
            if i and space.shape_keys:
                study.enqueue_trial({s: asked[0].params[s] for s in space.shape_keys})
            t = study.ask(dists)
            pending[t.number] = t
            if beat:
                record_heartbeat(storage, t)
            asked.append(t)
    frozen = {t.number: t for t in study.get_trials(deepcopy=False)}
    live = [n for n, t in frozen.items()
            if t.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)]
    keep, surplus = [], []
    for t in asked:
        (keep if sum(n < t.number for n in live) < n_trials else surplus).append(t)
    return keep, surplus, {t.number: root(frozen[t.number]) for t in asked}


def run_worker(study: Any, space: Space, n_trials: int, workers: int, out: str | Path,
               log: Callable[[str], None] = lambda s: None, poll: float | None = None) -> list[int]:
    """Work on the study until it has ``n_trials`` complete trials; return the numbers told here."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    storage = storage_of(study)
    hb = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    poll = poll or min(float(hb or 5), 5.0)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    told: list[int] = []
    while True:
        fail_stale_trials(study)
        states = Counter(t.state for t in study.get_trials(deepcopy=False))
        if states[TrialState.COMPLETE] >= n_trials:
            return told
        live = states[TrialState.COMPLETE] + states[TrialState.RUNNING] + states[TrialState.WAITING]
        k = min(workers, states[TrialState.WAITING] + max(0, n_trials - live))
        if k == 0:  # the rest is running elsewhere: wait for it to finish or go stale
            time.sleep(poll)
            continue
        pending: dict[int, Any] = {}  # asked here, not told yet
        try:
            batch, surplus, roots = _ask(study, space, k, n_trials, pending)
            for t in surplus:
                t.set_user_attr("surplus", True)
                study.tell(t, state=TrialState.PRUNED)
                pending.pop(t.number)
            with _Heartbeat(storage, batch):
                groups: dict[tuple, list[tuple[Any, Config]]] = {}
                for t in batch:
                    cfg = space.config(t.params)
                    groups.setdefault(shape_of(cfg), []).append((t, cfg))
                for members in groups.values():
                    members.sort(key=lambda tc: roots[tc[0].number])
                    run_dir = Path(out) / ("trials-" + "-".join(str(roots[t.number]) for t, _ in members))
                    for i, (t, _) in enumerate(members):
                        t.set_user_attr("run_dir", str(run_dir))
                        t.set_user_attr("run_index", i)
                        t.set_user_attr("worker", worker)
                    summary = train_run(Grid.of_runs([c for _, c in members]), str(run_dir))
                    for i, (t, cfg) in enumerate(members):
                        value, attrs = objective(cfg, summary, i)
                        pending.pop(t.number)
                        try:
                            for a, v in attrs.items():
                                t.set_user_attr(a, v)
                            study.tell(t, value)
                        except UpdateFinishedTrialError:  # our heartbeat was late: already failed and retried
                            log(f"trial {t.number}: failed by another worker (heartbeat missed); its retry counts")
                            continue
                        told.append(t.number)
                        log(_line(t.number, value, attrs, t.params, run_dir, i, len(members)))
        except BaseException as e:
            failed = []
            for t in pending.values():
                try:
                    study.tell(t, state=TrialState.FAIL)
                    failed.append(t.number)
                except UpdateFinishedTrialError:  # another worker failed (and retried) it already
                    pass
            retry = storage.get_heartbeat_stale_trial_callback() if hb else None
            if isinstance(e, KeyboardInterrupt) and retry is not None:
                by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
                for n in failed:  # retried by the next run of the same command
                    retry(study, by_number[n])
            raise


def _line(number: int, value: float, attrs: dict[str, Any], params: dict[str, Any], run_dir: Path,
          i: int, k: int) -> str:
    g = f"grokked {attrs['grokked']}/{attrs['judged_subtasks']}"
    if attrs["all_grokked_epoch"] is not None:
        g += f" by epoch {attrs['all_grokked_epoch']}"
    ps = " ".join(f"{k_}={v:.4g}" if isinstance(v, float) else f"{k_}={v}" for k_, v in params.items())
    return f"trial {number}: value {value:.4f} ({g}) {ps}  [{run_dir} run {i} of {k}]"
