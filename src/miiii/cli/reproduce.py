"""``miiii reproduce``: the study's run set, trained, analysed and judged (``docs/results.md``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import PRESETS, ConfigError, parse_items
from .common import progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="train, analyse and judge the study's run set; writes a fidelity table")
    p.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                   help="quick (20 min on a 2-core CPU: the claims about miiii, nanda and basis), long (quick's "
                        "model, every role: about an hour), paper (the study's settings, for a GPU), smoke (seconds)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="change every run of the set, e.g. the study code's choices: init=study dropout_mask=batch "
                        "readout=first ema_start=zero (not task, seed, split_seed, lambda, dropout: roles set them)")
    p.add_argument("--out", required=True, help="output directory; re-running resumes it")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--judge-only", action="store_true",
                   help="judge a finished reproduction again from its analysis.json files (no training, no "
                        "analysis): rewrites DIR/fidelity.json only, e.g. after a change of the rules")
    p.add_argument("--budget-seconds", type=float, metavar="S",
                   help="stop training at the first chunk boundary after S seconds (state saved; re-run to "
                        "resume); unfinished run directories are reported as incomplete, never judged")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..pipelines.reproduce import reproduce

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out: {args.out} exists and is not a directory")
    if args.budget_seconds is not None and args.budget_seconds <= 0:
        raise ConfigError(f"--budget-seconds: expected a positive number of seconds, got {args.budget_seconds:g}")
    overrides = {}
    for key, values in parse_items(args.overrides).items():
        if len(values) != 1:
            raise ConfigError(f"{key}: one value expected in reproduce, got {values!r}")
        overrides[key] = values[0]
    log = None if args.quiet else (lambda line: print(f"[reproduce] {line}", file=sys.stderr))
    if args.judge_only:
        from ..pipelines.reproduce import rejudge

        if overrides:
            raise ConfigError("--judge-only: takes no key=value (the run set is the one recorded in fidelity.json)")
        doc = rejudge(args.out)
        args.preset, overrides = doc["preset"], doc.get("overrides", {})
    else:
        doc = reproduce(args.preset, args.out, log=log, progress=None if args.quiet else progress_bar,
                        budget_seconds=args.budget_seconds, overrides=overrides)
    if not doc["complete"]:
        print(f"{args.out}: preset {args.preset}, INCOMPLETE after {doc['seconds']:.0f} s: {doc['incomplete']}")
        return 0
    width = max(len(c["id"]) for c in doc["claims"])
    changed = "".join(f", {k}={v}" for k, v in overrides.items())
    print(f"{args.out}: preset {args.preset}{changed}, {doc['seconds']:.0f} s")
    for c in doc["claims"]:
        verdict = c["verdict"] + (f" ({c['reason']})" if c.get("reason") else "")
        print(f"  {c['id']:<{width}}  {verdict:<28} {c['measured']}")
    if not args.judge_only:
        print(f"report: {Path(args.out) / 'report.html'}")
    return 0
