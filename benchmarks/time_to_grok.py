"""Time to grok over seeds × settings: the project's headline speed figure (docs/accelerators.md).

    python benchmarks/time_to_grok.py --out runs/ttg --seeds 5 --preset quick \
        default "perp:grad_perp=1 weight_decay=0.1" "muon:optimizer=muon" ...

Each setting is ``name:key=value ...`` (the bare word ``default`` is the preset itself) and trains
``--seeds`` runs (seed = split_seed = 0 … n-1) as one vmapped multi-run in ``OUT/<name>``, one
directory after another, so every setting is timed on the same machine in the same session.
Killed, it resumes (each directory resumes from its newest checkpoint; finished ones are read).

Per setting: the runs whose every in-loss sub-task grokked (k/n), the median time to grok in
epochs and in wall-clock seconds of its directory (``summary.json``'s ``time_to_grok``), each
with the distribution-free 95 % interval of the median from order statistics, in which a
censored run counts as +inf (so the interval is censoring-aware: its upper end is "censored"
when too few runs grokked), and the ratio of medians against the first setting with the
conservative interval [lo_a / hi_b, hi_a / lo_b] from the two median intervals. Writes
``OUT/table.md`` and ``OUT/table.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

from miiii.config import ConfigError, Grid, parse_overrides, preset
from miiii.pipelines.fidelity import median_interval
from miiii.runner import train_run

INF = math.inf


def parse_setting(word: str) -> tuple[str, list[str]]:
    name, _, rest = word.partition(":")
    if name == "default" and not rest:
        return name, []
    if not rest:
        raise ConfigError(f"{word!r}: expected name:key=value ... or the bare word default")
    return name, rest.split()


def median_ci(xs: list[float]) -> tuple[float, float, float]:
    m = statistics.median(xs)
    lo, hi = median_interval(xs)
    return m, lo, hi


def _fmt(x: float, unit: str = "") -> str:
    return "censored" if not math.isfinite(x) else f"{x:,.0f}{unit}"


def summarise(name: str, words: list[str], summary: dict) -> dict:
    runs = summary["runs"]
    ep = [INF if r["time_to_grok"]["epoch"] is None else float(r["time_to_grok"]["epoch"]) for r in runs]
    sec = [INF if r["time_to_grok"]["seconds"] is None else float(r["time_to_grok"]["seconds"]) for r in runs]
    return {"setting": name, "overrides": words, "n": len(runs), "all_grokked": sum(math.isfinite(e) for e in ep),
            "grokked": [r["time_to_grok"]["grokked"] for r in runs], "of": runs[0]["time_to_grok"]["of"],
            "epochs": ep, "seconds": sec, "median_epoch": median_ci(ep), "median_seconds": median_ci(sec),
            "wall_seconds": runs[0]["seconds"]}


def ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float, float]:
    div = lambda x, y: INF if not math.isfinite(x) or y == 0 else (0.0 if not math.isfinite(y) else x / y)  # noqa: E731
    return div(a[0], b[0]), div(a[1], b[2]), div(a[2], b[1])


def table(rows: list[dict]) -> str:
    base = rows[0]
    out = ["| setting | overrides | all grokked | sub-tasks grokked per seed | median epoch [95 %] | "
           "median s [95 %] | epoch ratio vs " + base["setting"] + " [conservative] | wall s |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        m, lo, hi = r["median_epoch"]
        s, slo, shi = r["median_seconds"]
        q = ratio(r["median_epoch"], base["median_epoch"])
        if r is base:
            rt = "—"
        elif not math.isfinite(base["median_epoch"][0]):  # x / inf is no ratio: say which side is censored
            rt = "both censored" if not math.isfinite(m) else base["setting"] + " censored"
        else:
            rt = f"{q[0]:.2f} [{q[1]:.2f}, {q[2]:.2f}]" if math.isfinite(q[0]) else "censored"
        out.append(f"| {r['setting']} | `{' '.join(r['overrides']) or '—'}` | {r['all_grokked']}/{r['n']} | "
                   f"{', '.join(map(str, r['grokked']))} of {r['of']} | {_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}] | "
                   f"{_fmt(s)} [{_fmt(slo)}, {_fmt(shi)}] | {rt} | {r['wall_seconds']:.0f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("settings", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--preset", default="quick")
    args = ap.parse_args(argv)
    out = Path(args.out)
    rows = []
    for word in args.settings:
        name, words = parse_setting(word)
        base = parse_overrides(preset(args.preset), words).base
        grid = Grid.of_runs([base.replace(seed=s, split_seed=s) for s in range(args.seeds)])  # seed s, split s
        summary = train_run(grid, str(out / name))
        rows.append(summarise(name, words, summary))
        print(table(rows[-1:] if len(rows) == 1 else [rows[0], rows[-1]]).splitlines()[-1], flush=True)
    text = table(rows)
    (out / "table.md").write_text(text)
    (out / "table.json").write_text(json.dumps(rows, indent=1, default=str))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
