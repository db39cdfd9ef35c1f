"""Hyper-parameter sweeps on Optuna: the study's search (SPEC section 3), K trials per multi-run.

The search space is categorical: each searched parameter has a list of choices (the study's
by default, ``DEFAULT_SPACE``); ``key=value`` on the command line fixes a parameter,
``key=a,b`` searches it over those choices (any parameter; ``mask`` lists use ``;``).

Objective (minimised), from a trial's run summary; only the sub-tasks in the loss count:

* all of them grokked (validation accuracy >= 0.99 and staying, ``analysis.curves``):
  ``T / epochs`` where T is the epoch by which the last one grokked -- in [0, 1];
* otherwise the penalty ``2 - grokked / n_subtasks`` -- in (1, 2];
* plus a tie-break below the smallest step of the terms above: the final mean validation
  loss L squashed to ``L / (1 + L)`` (NaN counts as 1), times ``0.5 / max(epochs, n_subtasks)``.
  So comparisons are lexicographic: grokked sooner, then more sub-tasks grokked, then lower loss.

A worker loop asks for up to K trials at once (Optuna ask/tell, no scheduler of ours). The
trials after the first are enqueued with the first one's shape parameters (``d_model``,
``n_heads``, ...), so a batch usually shares shapes; trials that still differ (a retried trial
from another batch) are grouped by shape. Each group trains as ONE vmapped multi-run
(``Grid.of_runs`` + ``runner.train_run``) in ``OUT/trials-<numbers>``; every trial records its
run directory and run index.

Many workers (processes, machines) share a study through the storage (SQLite on one machine,
PostgreSQL across machines). ``--trials N`` is the study's total: a worker stops when N trials
are complete. Exactness under concurrency: a trial is in quota when fewer than N live
(complete, running, waiting) trials have a lower number; a trial asked beyond that is told
PRUNED with user attribute ``surplus`` and never trained. Crashes: every running trial has a
heartbeat; a worker that dies (SIGKILL, power loss) stops beating, and the next worker to look
marks its trials FAIL and re-enqueues them (``RetryHeartbeatStaleTrialCallback``, the current
name of ``RetryFailedTrialCallback``). Ctrl-C does the same at once. A retried trial keeps its
first number as its root, and the run directory is named by roots, so a batch retried as a
whole resumes from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

from .config import PRESETS, VARYING, Config, ConfigError, _coerce, preset

# The study's search space (SPEC section 3), external parameter names.
DEFAULT_SPACE: dict[str, tuple[Any, ...]] = {
    "dropout": (0.0, 0.5, 0.2, 0.1),
    "lambda": (0.0, 0.5, 2.0),
    "weight_decay": (0.0, 0.1, 1 / 3, 0.5, 1.0),
    "d_model": (128, 256),
    "lr": (3e-4, 1e-4),
    "n_heads": (4, 8),
}
DEFAULT_STORAGE = "sqlite:///miiii-sweeps.db"
MAX_RETRY = 3  # retries of one crashed trial before it stays failed
_CHECK_ALL = 50_000  # validate every combination of the space up to this many


@dataclass(frozen=True)
class Space:
    base: Config  # everything not searched (preset + fixed key=value)
    choices: dict[str, tuple[Any, ...]]  # searched parameter -> typed values

    def distributions(self) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution
        return {k: CategoricalDistribution([_encode(v) for v in vs]) for k, vs in self.choices.items()}

    def config(self, params: dict[str, Any]) -> Config:
        return self.base.replace(**{k: _decode(k, v) for k, v in params.items()})

    @property
    def shape_keys(self) -> list[str]:
        return [k for k in self.choices if k not in VARYING]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base.to_dict(), "space": {k: [_encode(v) for v in vs] for k, vs in self.choices.items()}}


def _encode(v: Any) -> Any:
    """Optuna choices are scalars: a mask (tuple of primes) becomes ``"2,3"`` or ``"none"``."""
    return (",".join(map(str, v)) or "none") if isinstance(v, tuple) else v


def _decode(key: str, v: Any) -> Any:
    return () if key == "mask" and v == "none" else v


def parse_space(base: Config, items: list[str]) -> Space:
    """``key=value`` fixes a parameter, ``key=a,b`` searches it; the rest of DEFAULT_SPACE stays."""
    fixed: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{item!r}: expected key=value or key=a,b,...")
        key, value = (s.strip() for s in item.split("=", 1))
        if Config.internal(key) not in {Config.internal(n) for n in Config.names()}:
            raise ConfigError(f"unknown parameter {key!r}; known: {', '.join(Config.names())}")
        values = [v.strip() for v in value.split(";" if key == "mask" else ",")]
        if key != "mask" and any(not v for v in values):
            raise ConfigError(f"{key}: empty value in {value!r} (expected key=value or key=a,b,...)")
        values = ["" if v == "none" else v for v in values] if key == "mask" else values
        fixed.pop(key, None)
        lists.pop(key, None)
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            lists[key] = values
    choices = {k: vs for k, vs in DEFAULT_SPACE.items() if k not in fixed and k not in lists}
    for key, values in lists.items():
        typed = tuple(_typed(key, v) for v in values)
        if len(set(typed)) != len(typed):
            raise ConfigError(f"{key}: list has repeated values {list(values)}")
        choices[key] = typed
    # Searched parameters start at their first choice, so the base is one valid point of the space.
    first = {k: vs[0] for k, vs in choices.items()}
    try:
        base = base.replace(**fixed, **first)
    except ConfigError as e:
        raise ConfigError(f"{e} (with the fixed values and the first choice of each searched one: "
                          f"{ {**fixed, **first} })") from None
    space = Space(base, choices)
    _validate(space)
    return space


def _typed(key: str, value: str) -> Any:
    """A command-line value as the type of its Config field (validated later, in combination)."""
    field = next(f for f in dataclasses.fields(Config) if f.name == Config.internal(key))
    return _coerce(key, value, field.type)


def _validate(space: Space) -> None:
    """Every combination must make a valid Config (when too many: every value with the base)."""
    n = 1
    for vs in space.choices.values():
        n *= len(vs)
    if n > _CHECK_ALL:
        for k, vs in space.choices.items():
            for v in vs:
                space.base.replace(**{k: v})
    else:
        keys = list(space.choices)
        for combo in itertools.product(*(space.choices[k] for k in keys)):
            try:
                space.base.replace(**dict(zip(keys, combo)))
            except ConfigError as e:
                raise ConfigError(f"the space holds an invalid combination {dict(zip(keys, combo))}: {e}") from None


# ---- objective ----------------------------------------------------------------------
def objective(cfg: Config, summary: dict[str, Any], index: int) -> tuple[float, dict[str, Any]]:
    """The value to minimise for run ``index`` of a multi-run summary, and what it is made of."""
    run, subtasks, epochs = summary["runs"][index], summary["subtasks"], int(summary["epochs"])
    judged = [i for i, q in enumerate(subtasks) if q not in cfg.loss_mask] or list(range(len(subtasks)))
    groks = [run["grok_epoch"][i] for i in judged]
    n = len(groks)
    grokked = sum(g is not None for g in groks)
    loss = sum(run["final_valid_loss"][i] for i in judged) / n
    main = max(groks) / epochs if grokked == n else 2.0 - grokked / n
    finite = math.isfinite(loss) and loss >= 0
    squashed = loss / (1.0 + loss) if finite else 1.0
    value = main + squashed * 0.5 / max(epochs, n)
    attrs = {"grokked": grokked, "judged_subtasks": n,
             "all_grokked_epoch": max(groks) if grokked == n else None,
             "final_valid_loss": loss if finite else None,
             "final_valid_acc": sum(run["final_valid_acc"][i] for i in judged) / n}
    return value, attrs


def shape_of(cfg: Config) -> tuple:
    """What must be equal for configs to train in one multi-run: every non-VARYING parameter."""
    d = cfg.to_dict()
    return tuple((k, json.dumps(d[k])) for k in Config.names() if k not in VARYING)


# ---- storage and study --------------------------------------------------------------
def redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def open_storage(url: str, heartbeat: float | None = 60.0) -> Any:
    """An Optuna RDBStorage with heartbeats and retries of crashed trials; ConfigError if unusable."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats and retries have been "experimental" since Optuna 2.8; they are what we need.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if "://" not in url:
        raise ConfigError(f"--storage: expected a URL like {DEFAULT_STORAGE} or postgresql://user@host/db, got {url!r}")
    given, url = url, _with_driver(url)
    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}  # several local workers wait for the write lock
    elif url.startswith("postgresql"):
        engine = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    kw: dict[str, Any] = {}
    if heartbeat:
        kw = dict(heartbeat_interval=max(1, round(heartbeat)),
                  heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    for attempt in range(10):
        try:
            return RDBStorage(url, engine_kwargs=engine, **kw)
        except Exception as e:  # sqlalchemy's OperationalError, ArgumentError, a missing driver, ...
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            # Workers starting together on a fresh database race to create Optuna's tables.
            if attempt < 9 and re.search(r"already exists|duplicate key|database is locked|UNIQUE constraint failed", msg):
                time.sleep(0.5 + 0.5 * attempt)
                continue
            raise ConfigError(f"--storage: cannot open {redact(given)}: {msg}") from None
    raise AssertionError("unreachable")


def _with_driver(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; use psycopg2 when only it is installed."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def open_study(storage: Any, name: str, space: Space | None = None) -> Any:
    """Create or load study ``name``; a space must match the one the study was created with."""
    import optuna

    if space is None:
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise ConfigError(f"--study: no study {name!r} in this storage") from None
    sampler = optuna.samplers.TPESampler(constant_liar=True)  # parallel asks spread out
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                sampler=sampler, load_if_exists=True)
    want = json.loads(json.dumps(space.to_dict()))
    have = study.user_attrs.get("miiii")
    if have is None:
        study.set_user_attr("miiii", want)
    elif have != want:
        diff = sorted(k for k in set(have["base"]) | set(have["space"]) | set(want["space"])
                      if have["base"].get(k) != want["base"].get(k) or have["space"].get(k) != want["space"].get(k))
        raise ConfigError(f"--study: {name!r} was created with another preset or space (differs in "
                          f"{', '.join(diff)}); pass the same settings or choose another study name")
    return study


# ---- command line ----------------------------------------------------------------------
def register(sub: Any) -> None:
    import argparse

    from .cli import params_epilog

    space = "; ".join(f"{k} {','.join(f'{v:g}' for v in vs)}" for k, vs in DEFAULT_SPACE.items())
    p = sub.add_parser(
        "sweep", help="hyper-parameter search on Optuna (one machine or many)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Search hyper-parameters with Optuna. Default space (SPEC section 3): " + space +
                    ". key=value fixes a parameter, key=a,b searches it over a list. Objective "
                    "(minimised): epoch by which every sub-task grokked / epochs, or 2 - grokked "
                    "fraction when not all did, final validation loss as tie-break. See docs/sweep.md.",
        epilog=params_epilog())
    p.add_argument("--study", required=True, help="study name (shared by every worker)")
    p.add_argument("--storage", default=DEFAULT_STORAGE,
                   help=f"Optuna storage URL (default {DEFAULT_STORAGE}; postgresql://user:pw@host/db for many machines)")
    p.add_argument("--trials", type=int, default=20, help="complete trials the study should reach (default 20)")
    p.add_argument("--workers", type=int, default=1, help="trials trained at once in one vmapped multi-run (default 1)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="base settings for everything not searched")
    p.add_argument("--out", help="where trial run directories go (default sweeps/<study>)")
    p.add_argument("--heartbeat", type=int, default=60,
                   help="seconds between trial heartbeats; a trial silent for twice this is failed and retried (default 60)")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(run=_run_sweep)

    r = sub.add_parser("sweep-report", help="one self-contained HTML page about a sweep's study")
    r.add_argument("--study", required=True)
    r.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    r.add_argument("--out", required=True, help="the HTML file to write")
    r.set_defaults(run=_run_report)


def _run_sweep(args: Any) -> int:
    if args.trials < 1:
        raise ConfigError(f"--trials: expected a positive integer, got {args.trials}")
    if args.workers < 1:
        raise ConfigError(f"--workers: expected a positive integer, got {args.workers}")
    if args.heartbeat < 1:
        raise ConfigError(f"--heartbeat: expected a positive number of seconds, got {args.heartbeat}")
    space = parse_space(preset(args.preset) if args.preset else Config(), args.overrides)
    study = open_study(open_storage(args.storage, args.heartbeat), args.study, space)
    out = args.out or os.path.join("sweeps", args.study)
    print(f"study {args.study} on {redact(args.storage)}: searching {', '.join(space.choices) or 'nothing'}; "
          f"{args.trials} trials, {args.workers} at a time; runs in {out}", flush=True)
    from .sweep_worker import run_worker

    told = run_worker(study, space, args.trials, args.workers, out, log=lambda s: print(s, flush=True))
    best = study.best_trial
    print(f"study {args.study}: {args.trials} trials complete ({len(told)} by this worker); best trial "
          f"{best.number}: value {best.value:.4f} {best.params} in {best.user_attrs.get('run_dir')}", flush=True)
    return 0


def _run_report(args: Any) -> int:
    from .sweep_report import write_report

    study = open_study(open_storage(args.storage, heartbeat=None), args.study)
    write_report(study, args.out, storage=redact(args.storage))
    print(f"wrote {args.out}")
    return 0
