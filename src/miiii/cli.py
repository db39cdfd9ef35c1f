"""The command line: the only place that parses argv and prints.

Each command is a pair ``(register(subparsers), run(args) -> int)``. User errors are
``ConfigError``s, printed as one line ``miiii: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Callable

from .config import PRESETS, VARYING, Config, ConfigError, Grid, parse_overrides, preset

PARAM_HELP = {
    "task": "miiii | nanda | basis | masked | divisible (SPEC section 1)",
    "p": "the base: inputs x0, x1 < p; sub-tasks are the primes q < p",
    "d_model": "residual stream width (d_mlp = 4 d_model)",
    "n_heads": "attention heads (d_model must divide by it)",
    "depth": "transformer blocks",
    "dropout": "dropout rate on the residual stream (training only)",
    "lr": "AdamW learning rate",
    "weight_decay": "AdamW decoupled weight decay (fractions like 1/3 allowed)",
    "lambda": "GrokFast amplification lambda (0 = plain AdamW)",
    "alpha": "GrokFast-EMA decay alpha, in [0, 1)",
    "filter": "GrokFast filter: ema | ma | none",
    "window": "GrokFast-MA window (steps)",
    "epochs": "full-batch training steps",
    "train_frac": "fraction of the p^2 samples used for training, in (0, 1)",
    "seed": "parameter init and dropout seed",
    "split_seed": "train/validation split seed (and basis shuffle)",
    "mask": "primes left out of the loss, e.g. mask=2,3,5,7 (still evaluated)",
    "log_linear": "number of linearly spaced logged epochs",
    "log_log": "number of logarithmically spaced logged epochs",
    "omega_k": "omega threshold: mean + k std of each neuron's spectrum",
    "chunk": "epochs per compiled chunk between host syncs",
}


def params_epilog() -> str:
    lines = ["parameters (key=value; defaults are the study's, SPEC section 3):"]
    base = Config()
    for f in dataclasses.fields(Config):
        name = Config.external(f.name)
        default = base.to_dict()[name]
        lines.append(f"  {name:<13} default {default!r:<22} {PARAM_HELP.get(name, '')}")
    lines.append(f"lists make a grid of runs trained at once (vmapped): {', '.join(VARYING)}")
    lines.append("  e.g. seed=0,1,2,3 lambda=0,0.5 -> 8 runs; several masks: mask='2,3;5,7;none'")
    lines.append("presets: " + "; ".join(f"{k}: {' '.join(f'{a}={b}' for a, b in v.items()) or 'the defaults'}"
                                         for k, v in PRESETS.items()))
    return "\n".join(lines)


def grid_from_args(preset_name: str | None, items: list[str]) -> Grid:
    base = preset(preset_name) if preset_name else Config()
    return parse_overrides(base, items)


# ---- train --------------------------------------------------------------------------
def _register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one run or a grid of runs into a run directory",
                       epilog=params_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset (default: the study's settings)")
    p.add_argument("--out", help="run directory (default: runs/<task>-p<p>); re-running resumes it")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN with its own config.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from .runner import train_run
    from .store import RunDir

    if args.resume:
        if args.overrides or args.preset:
            raise ConfigError("--resume: takes no preset or key=value (the run's config.json decides)")
        rd = RunDir(args.resume)
        if not rd.config_path.exists():
            raise ConfigError(f"--resume: {args.resume} holds no miiii run (no config.json)")
        grid, out = rd.grid(), args.resume
    else:
        grid = grid_from_args(args.preset, args.overrides)
        cfg = grid.base
        out = args.out or os.path.join("runs", f"{cfg.task}-p{cfg.p}")
        RunDir(out).check_compatible(grid)  # before anything is written
    summary = train_run(grid, out, progress=None if args.quiet else _progress_bar(grid.base.epochs))
    _print_summary(summary, out)
    return 0


def _progress_bar(total: int) -> Callable[[int, int, dict[str, float]], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="epoch", dynamic_ncols=True, file=sys.stderr)

    def update(epoch: int, total: int, stats: dict[str, float]) -> None:
        bar.update(epoch - bar.n)
        bar.set_postfix(train_acc=f"{stats['train_acc']:.3f}", valid_acc=f"{stats['valid_acc']:.3f}")
        if epoch >= total:
            bar.close()

    return update


def _print_summary(summary: dict, out: str) -> None:
    qs = summary["subtasks"]
    print(f"{out}: {len(summary['runs'])} run(s), {summary['epochs']} epochs, "
          f"{summary['runs'][0]['seconds']:.1f} s")
    for i, r in enumerate(summary["runs"]):
        va = r["final_valid_acc"]
        groks = ", ".join(f"{q}:{g}" for q, g in zip(qs, r["grok_epoch"]) if g is not None) or "none"
        print(f"  run {i}: mean valid acc {sum(va) / len(va):.3f}; grokked (q:epoch) {groks}")


def _lazy(module: str, register: str) -> Callable[[argparse._SubParsersAction], None]:
    """Register a command defined beside the code it drives, importing it only when needed."""
    def reg(sub: argparse._SubParsersAction) -> None:
        import importlib
        getattr(importlib.import_module(module), register)(sub)
    return reg


# One entry per command; each module's register(sub) adds its subparser and sets ``run``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_train,
    _lazy("miiii.analysis_cli", "register"),
    _lazy("miiii.sweep", "register"),
    _lazy("miiii.reproduce", "register"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="miiii", description="Train, open up and report transformers that grok x0 + p*x1 mod every prime q < p.",
        epilog="run 'miiii COMMAND --help' for a command's options and parameters")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as e:
        print(f"miiii: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("miiii: interrupted; re-run the same command to resume", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # An interrupt can land while XLA's threads still run a computation; a normal
        # interpreter shutdown then races them (seen: SIGSEGV at exit). Every file is already
        # written atomically and the sweep has re-queued its trials, so leave at once.
        os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
