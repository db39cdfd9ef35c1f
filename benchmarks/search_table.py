"""The search table: every run of the given run directories, its settings and its time to grok.

    python benchmarks/search_table.py DIR [DIR ...] [--base quick] [--set key=value ...] > table.md

For each run of each directory (``config.json`` + ``summary.json``): the parameters that differ
from the preset ``--base``, the sub-tasks grokked (of those in the loss), the time to grok in
epochs and in the directory's wall-clock seconds (``summary.json``'s ``time_to_grok``), and the
final mean validation accuracy. A markdown table on stdout, one row per run, in the order given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from miiii.config import Config, Grid, parse_overrides, preset


def rows(run_dir: Path, base: Config) -> list[dict]:
    grid = Grid.from_dict(json.loads((run_dir / "config.json").read_text()))
    summary = json.loads((run_dir / "summary.json").read_text())
    ref = base.to_dict()
    out = []
    for cfg, run in zip(grid.runs, summary["runs"]):
        d = cfg.to_dict()
        changed = {k: v for k, v in d.items() if v != ref[k] and k not in ("log_linear", "log_log", "chunk")}
        t = run.get("time_to_grok")
        if t is None:  # trained before time_to_grok was recorded: from grok_epoch, no seconds
            g = [e for e, q in zip(run["grok_epoch"], summary["subtasks"]) if q not in cfg.loss_mask]
            done = [e for e in g if e is not None]
            t = {"grokked": len(done), "of": len(g), "epoch": max(done) if len(done) == len(g) else None}
        va = run["final_valid_acc"]
        out.append({"dir": run_dir.name, "changed": changed, "grokked": t.get("grokked"), "of": t.get("of"),
                    "epoch": t.get("epoch"), "seconds": t.get("seconds"), "valid": sum(va) / len(va),
                    "wall": run["seconds"], "runs": len(summary["runs"])})
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--base", default="quick")
    ap.add_argument("--set", nargs="*", default=[], metavar="key=value",
                    help="the base's changes (e.g. an older preset)")
    args = ap.parse_args(argv)
    base = parse_overrides(preset(args.base), args.set).base
    against = args.base + "".join(f" {w}" for w in args.set)
    print(f"| directory | settings (vs `{against}`) | grokked | time to grok: epoch | s (directory's clock) | "
          "mean final valid acc |")
    print("| --- | --- | --- | --- | --- | --- |")
    for d in args.dirs:
        for r in rows(d, base):
            settings = " ".join(f"{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in r["changed"].items())
            ep = "censored" if r["epoch"] is None else f"{r['epoch']:,}"
            s = "—" if r["seconds"] is None else f"{r['seconds']:.0f} (of {r['wall']:.0f}, {r['runs']} runs)"
            print(f"| {r['dir']} | `{settings or '—'}` | {r['grokked']}/{r['of']} | {ep} | {s} | {r['valid']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
