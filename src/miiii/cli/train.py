"""``miiii train``: one run or a vmapped grid of runs into a run directory."""

from __future__ import annotations

import argparse
import os

from ..config import PRESETS, Config, ConfigError, parse_overrides, preset
from .common import params_epilog, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one run or a grid of runs into a run directory",
                       epilog=params_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset (default: the study's settings)")
    p.add_argument("--out", help="run directory (default: runs/<task>-p<p>); re-running resumes it")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN with its own config.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..runner import train_run
    from ..store import RunDir

    if args.resume:
        if args.overrides or args.preset:
            raise ConfigError("--resume: takes no preset or key=value (the run's config.json decides)")
        rd = RunDir(args.resume)
        if not rd.config_path.exists():
            raise ConfigError(f"--resume: {args.resume} holds no miiii run (no config.json)")
        grid, out = rd.grid(), args.resume
    else:
        grid = parse_overrides(preset(args.preset) if args.preset else Config(), args.overrides)
        out = args.out or os.path.join("runs", f"{grid.base.task}-p{grid.base.p}")
        RunDir(out).check_compatible(grid)  # before anything is written
    summary = train_run(grid, out, progress=None if args.quiet else progress_bar(grid.base.epochs))
    print_summary(summary, out)
    return 0


def print_summary(summary: dict, out: str) -> None:
    qs = summary["subtasks"]
    print(f"{out}: {len(summary['runs'])} run(s), {summary['epochs']} epochs, "
          f"{summary['runs'][0]['seconds']:.1f} s")
    for i, r in enumerate(summary["runs"]):
        if r.get("diverged_epoch") is not None:
            print(f"  run {i}: DIVERGED at epoch {r['diverged_epoch']} (non-finite training loss); "
                  "the other runs are unaffected")
            continue
        va = r["final_valid_acc"]
        groks = ", ".join(f"{q}:{g}" for q, g in zip(qs, r["grok_epoch"]) if g is not None) or "none"
        print(f"  run {i}: mean valid acc {sum(va) / len(va):.3f}; grokked (q:epoch) {groks}; {ttg_text(r)}")


def ttg_text(run: dict) -> str:
    """The run's time to grok in words (``report.readings.time_to_grok_text``)."""
    from ..report.readings import time_to_grok_text

    text = time_to_grok_text(run.get("time_to_grok"))
    return text if text.startswith("all") else f"time to grok {text}"
