"""``miiii sweep`` and ``miiii sweep-report``: Optuna searches (``docs/sweep.md``)."""

from __future__ import annotations

import argparse
import os

from ..config import PRESETS, Config, ConfigError, preset
from ..sweep.space import DEFAULT_SPACE
from ..sweep.storage import DEFAULT_STORAGE
from .common import params_epilog


def register(sub: argparse._SubParsersAction) -> None:
    space = "; ".join(f"{k} {','.join(f'{v:g}' for v in vs)}" for k, vs in DEFAULT_SPACE.items())
    p = sub.add_parser(
        "sweep", help="hyper-parameter search on Optuna (one machine or many)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Search hyper-parameters with Optuna. Default space (the study's): " + space +
                    ". key=value fixes a parameter, key=a,b searches it over a list. Objective "
                    "(minimised): epoch by which every sub-task grokked / epochs, or 2 - grokked "
                    "fraction when not all did, final validation loss as tie-break. See docs/sweep.md.",
        epilog=params_epilog())
    p.add_argument("--study", required=True, help="study name (shared by every worker)")
    p.add_argument("--storage", default=DEFAULT_STORAGE,
                   help=f"Optuna storage URL (default {DEFAULT_STORAGE}; "
                        "postgresql://user:pw@host/db for many machines)")
    p.add_argument("--trials", type=int, default=20, help="complete trials the study should reach (default 20)")
    p.add_argument("--workers", type=int, default=1, help="trials trained at once in one vmapped multi-run (default 1)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="base settings for everything not searched")
    p.add_argument("--out", help="where trial run directories go (default sweeps/<study>)")
    p.add_argument("--heartbeat", type=int, default=60,
                   help="seconds between trial heartbeats; "
                        "a trial silent for twice this is failed and retried (default 60)")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(run=_run_sweep)

    r = sub.add_parser("sweep-report", help="one self-contained HTML page about a sweep's study")
    r.add_argument("--study", required=True)
    r.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    r.add_argument("--out", required=True, help="the HTML file to write")
    r.set_defaults(run=_run_report)


def _need_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("sweep: needs optuna (and plotly for the report), which this environment lacks: "
                          "pip install 'optuna>=4' plotly") from None


def _run_sweep(args: argparse.Namespace) -> int:
    _need_optuna()
    if args.trials < 1:
        raise ConfigError(f"--trials: expected a positive integer, got {args.trials}")
    if args.workers < 1:
        raise ConfigError(f"--workers: expected a positive integer, got {args.workers}")
    if args.heartbeat < 1:
        raise ConfigError(f"--heartbeat: expected a positive number of seconds, got {args.heartbeat}")
    from ..sweep import open_storage, open_study, parse_space, redact, run_worker

    space = parse_space(preset(args.preset) if args.preset else Config(), args.overrides)
    study = open_study(open_storage(args.storage, args.heartbeat), args.study, space)
    out = args.out or os.path.join("sweeps", args.study)
    print(f"study {args.study} on {redact(args.storage)}: searching {', '.join(space.choices) or 'nothing'}; "
          f"{args.trials} trials, {args.workers} at a time; runs in {out}", flush=True)
    told = run_worker(study, space, args.trials, args.workers, out, log=lambda s: print(s, flush=True))
    best = study.best_trial
    print(f"study {args.study}: {args.trials} trials complete ({len(told)} by this worker); best trial "
          f"{best.number}: value {best.value:.4f} {best.params} in {best.user_attrs.get('run_dir')}", flush=True)
    return 0


def _run_report(args: argparse.Namespace) -> int:
    _need_optuna()
    from ..sweep import open_storage, open_study, redact, write_report

    study = open_study(open_storage(args.storage, heartbeat=None), args.study)
    write_report(study, args.out, storage=redact(args.storage))
    print(f"wrote {args.out}")
    return 0
