"""Sweep throughput: trials per minute on SQLite, one trial at a time vs K trials vmapped.

    python benchmarks/sweep_bench.py [--trials 8] [--workers 1,4,8] [key=value ...]

Runs the same sweep (the study's default space for dropout, lambda, weight decay and lr; the
shapes fixed so every batch is one multi-run) once per K, side by side in this one process,
each on a fresh SQLite study, through the same code path as ``miiii sweep`` (run directories,
checkpoints, heartbeats). Wall time covers everything a worker does: asking, compiling,
training, writing the run directory, telling. Each batch compiles its own program (the hyper
parameters are part of it), which is the cost vmapping K trials shares.
Writes ``benchmarks/results/sweep-<host>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from miiii.config import preset  # noqa: E402
from miiii.sweep import open_storage, open_study, parse_space, run_worker  # noqa: E402

DEFAULT = ["p=11", "d_model=32", "n_heads=2", "epochs=256"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--workers", default="1,4,8", help="comma-separated K values")
    ap.add_argument("overrides", nargs="*", help=f"key=value on the smoke preset (default {' '.join(DEFAULT)})")
    args = ap.parse_args()
    items = args.overrides or DEFAULT
    space = parse_space(preset("smoke"), items)
    rows = []
    with tempfile.TemporaryDirectory(prefix="miiii-sweep-bench-") as tmp:
        for k in (int(x) for x in args.workers.split(",")):
            url = f"sqlite:///{tmp}/k{k}.db"
            study = open_study(open_storage(url), f"bench-k{k}", space)
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            run_worker(study, space, args.trials, k, Path(tmp) / f"k{k}")
            wall = time.perf_counter() - t0
            rows.append({"workers": k, "trials": args.trials, "seconds": round(wall, 2),
                         "trials_per_min": round(args.trials / wall * 60, 2),
                         "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)})
            r = rows[-1]
            print(f"K={k:<2} {args.trials} trials in {wall:7.1f} s  ->  {r['trials_per_min']:6.2f} trials/min"
                  f"   (load avg {r['load_before']:.1f} -> {r['load_after']:.1f})", flush=True)
    base = rows[0]["trials_per_min"]
    for r in rows[1:]:
        print(f"K={r['workers']}: {r['trials_per_min'] / base:.1f}x the trials per minute of K={rows[0]['workers']}")
    out = Path(__file__).parent / "results" / f"sweep-{socket.gethostname()}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"settings": items, "machine": platform.processor() or platform.machine(),
                               "cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
