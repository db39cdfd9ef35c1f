"""Commands ``analyze``, ``figures`` and ``report``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", help="analyse a trained run: RUN/analysis/analysis.json and figures",
                       description="Every analysis (docs/analysis.md) for each run of RUN (or run --run I): "
                                   "numbers in RUN/analysis/analysis.json, figures (SVG + PNG) in "
                                   "RUN/analysis/figures/. Keys and rules: docs/analysis.md.")
    a.add_argument("run_dir", metavar="RUN", help="a complete run directory (miiii train --out RUN)")
    a.add_argument("--epoch", type=int, help="analyse the checkpoint of this epoch (default: final); "
                                             "0, powers of two and the last epoch are kept")
    a.add_argument("--run", type=int, dest="run_index", metavar="I",
                   help="only run I of a multi-run (default: every run)")
    a.add_argument("--no-figures", action="store_true", help="numbers only")
    a.add_argument("--format", default="svg,png", metavar="LIST",
                   help="figure formats among svg, png, pdf (default svg,png; png is always written: the report "
                        "embeds it; PDFs carry no date, so reruns are byte-identical)")
    a.set_defaults(run=_run_analyze)

    f = sub.add_parser("figures", help="draw the study's illustrations (polar plots, input and target grids)")
    f.add_argument("--out", required=True, metavar="DIR", help="folder for the SVG and PNG files")
    f.add_argument("--p", type=int, default=113, help="polar plots show every n < p^2 (default 113)")
    f.add_argument("--grid-p", type=int, default=11, help="p of the input/target grids (default 11)")
    f.add_argument("--primes", default="2,3,5,7", help="primes whose multiples are highlighted (default 2,3,5,7)")
    f.add_argument("--format", default="svg,png", metavar="LIST", help="formats among svg, png, pdf (default svg,png)")
    f.set_defaults(run=_run_figures)

    r = sub.add_parser("report", help="one self-contained HTML page for one or several runs",
                       description="Configuration, key numbers and every figure with a one-line reading; "
                                   "several runs side by side. Runs not yet analysed are analysed first.")
    r.add_argument("run_dirs", nargs="+", metavar="RUN")
    r.add_argument("--out", required=True, metavar="FILE.html")
    r.set_defaults(run=_run_report)


def _run_analyze(args: argparse.Namespace) -> int:
    from ..pipelines.analyze import write_analysis
    from ..report import key_numbers

    if args.epoch is not None and args.epoch < 0:
        raise ConfigError(f"--epoch: expected a non-negative epoch, got {args.epoch}")
    doc = write_analysis(args.run_dir, args.epoch, args.run_index, figures=not args.no_figures,
                         formats=_formats(args.format))
    out = Path(args.run_dir) / "analysis"
    print(f"{out / 'analysis.json'}: {len(doc['runs'])} run(s) at epoch {doc['epoch']}")
    for n in doc["runs"]:
        rows = key_numbers(n)
        shown = rows[:2] if n.get("diverged_epoch") is not None else rows[3:9]
        print(f"  run {n['run']}: " + "; ".join(f"{k} {v}" for k, v in shown))
    if not args.no_figures:
        print(f"  figures: {out / 'figures'}")
    return 0


def _run_figures(args: argparse.Namespace) -> int:
    from ..plots.illustrations import illustrations
    from ..plots.style import render
    from ..store import atomic_write

    try:
        qs = tuple(int(q) for q in args.primes.split(","))
    except ValueError:
        raise ConfigError(f"--primes: expected comma-separated integers, got {args.primes!r}") from None
    if args.p < 2 or args.grid_p < 3 or args.grid_p > 60:
        raise ConfigError("--p must be >= 2 and --grid-p between 3 and 60")
    formats = _formats(args.format)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} exists and is not a directory")
    for name, fig in illustrations(args.p, args.grid_p, qs).items():
        written = render(fig, formats)
        for ext, data in written.items():
            atomic_write(out / f"{name}.{ext}", data)
        print(f"{out / name}: " + ", ".join(f".{ext}" for ext in written))
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from ..pipelines.report import write_report

    path = write_report(args.run_dirs, args.out)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(args.run_dirs)} run dir(s)")
    return 0


def _formats(text: str) -> tuple[str, ...]:
    from ..plots.style import parse_formats

    try:
        return parse_formats(text)
    except ValueError as e:
        raise ConfigError(f"--format: {e}") from None
