"""Accelerator benchmark in a fixed wall-clock budget: the rows a GPU session needs.

    PYTHONPATH=src python benchmarks/gpu_bench.py --out bench.json [--budget 120] [--preset paper]

Top-level fields: device platform and kind, jax version, ``jax_default_matmul_precision``
(the precision training runs at: the code never sets it, so ``None`` = XLA's default, which
on NVIDIA GPUs since Ampere may compute float32 matmuls in TF32: the two peak rows show
whether it does). Rows, in order of priority (each one skipped, not started, when what is
left of the budget is below its estimate; an error in one row is recorded and the next one
runs):

* ``peak``: GFLOP/s of one square float32 matmul at ``default`` and at ``highest`` precision.
* ``train``: the preset's size (p = 113, d = 256 for ``paper``), one run, no logging:
  compile time (first call minus one steady call), epochs/s (best of 3 calls of ~1 s), the
  analytic model FLOPs per epoch (bench.py's ``epoch_flops``) and their rate as shares of
  both peaks.
* ``scaling``: R = 2, 4, 8, 16 runs (seeds) vmapped at the same size: compile time,
  run-epochs/s and its ratio to one run.
* ``xla_flops``: XLA's FLOPs of one training step (one more compile), added to ``train``
  with the shares of both peaks.
* ``train_highest``: the one-run row again under ``jax.default_matmul_precision("highest")``.

The JSON file is rewritten after every row, so a run killed from outside keeps what it had
measured. On a machine without a GPU every row still runs (on the CPU) and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import epoch_flops, machine, xla_step_flops  # noqa: E402
from miiii import train  # noqa: E402
from miiii.config import Config, Grid, preset  # noqa: E402


def precision(name: str | None):
    """A context in which float32 matmuls run at ``name`` (None: unchanged)."""
    if name is None:
        return contextlib.nullcontext()
    return jax.default_matmul_precision(name)


class Bench:
    def __init__(self, out: str, budget: float):
        self.out, self.t0, self.budget = out, time.perf_counter(), budget
        dev = jax.devices()[0]
        self.doc = {
            "machine": machine(), "device": dev.platform, "device_kind": dev.device_kind,
            "n_devices": jax.device_count(), "jax": jax.__version__,
            "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
            "xla_flags": os.environ.get("XLA_FLAGS", ""), "budget_s": budget,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": [],
        }
        if dev.platform == "cpu":
            print("[gpu_bench] no GPU here: every row below is measured on the CPU", file=sys.stderr)
        self.save()

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)

    def save(self) -> None:
        self.doc["wall_s"] = round(time.perf_counter() - self.t0, 2)
        tmp = self.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.doc, f, indent=2)
        os.replace(tmp, self.out)

    def row(self, kind: str, estimate_s: float, fn, **keys) -> tuple[dict, dict | None]:
        """Run ``fn() -> dict`` as one row unless the estimate does not fit what is left.
        Returns the row as written and ``fn``'s result (None if skipped or failed); keys of
        the result starting with ``_`` are not written."""
        row = {"kind": kind, **keys}
        result = None
        if self.left() < estimate_s:
            row |= {"status": "skipped", "why": f"needs ~{estimate_s:.0f} s, {self.left():.0f} s left"}
        else:
            t = time.perf_counter()
            try:
                result = fn()
                row |= {"status": "ok", **{k: v for k, v in result.items() if not k.startswith("_")}}
            except Exception as e:  # noqa: BLE001 (one failing row must not lose the others)
                row |= {"status": "error", "error": f"{type(e).__name__}: {e}"[:2000]}
                traceback.print_exc()
            row["row_s"] = round(time.perf_counter() - t, 2)
        self.doc["rows"].append(row)
        self.save()
        print(f"[gpu_bench] {json.dumps(row)}", file=sys.stderr, flush=True)
        return row, result


def matmul_gflops(n: int, reps: int, prec: str) -> dict:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    with precision(prec):
        f = jax.jit(lambda a: a @ a)
        jax.block_until_ready(f(a))
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            jax.block_until_ready(f(a))
            times.append(time.perf_counter() - t)
    return {"n": n, "gflops": 2 * n**3 / min(times) / 1e9}


class Runner:
    """One Trainer at ``cfg`` with R runs (seeds 0..R-1), timed through the public path."""

    def __init__(self, cfg: Config, runs: int):
        self.s = train.setup(Grid(cfg, {"seed": tuple(range(runs))} if runs > 1 else {}))
        self.t = train.Trainer(self.s, record_omega=False)
        self.state, self.logs = train.init_state(self.s), self.t.empty_logs()
        jax.block_until_ready((self.state, self.logs))
        self.epoch = 1

    def __call__(self, n: int) -> float:
        t = time.perf_counter()
        self.state, self.logs = self.t.run(self.state, self.logs, self.epoch, self.epoch + n)
        jax.block_until_ready(self.state)
        self.epoch += n
        return time.perf_counter() - t


CALL_S = 1.0  # seconds per timed call


def time_training(cfg: Config, runs: int, left: float, call_s: float = CALL_S, reps: int = 3) -> dict:
    """Compile time and best-of-``reps`` epochs/s, calls sized to ~``call_s`` seconds."""
    r = Runner(cfg, runs)
    first = r(1)  # compiles
    one = r(1)
    compile_s = max(first - one, 0.0)
    k = max(2, min(1000, int(0.2 / max(one, 1e-6))))  # a one-epoch call is mostly dispatch on a GPU
    per = r(k) / k
    n = int(max(1, min(call_s, (left - compile_s - 0.2) / (reps + 1)) / max(per, 1e-6)))
    best = min(r(n) for _ in range(reps)) / n
    return {"runs": runs, "compile_s": round(compile_s, 2), "epochs_per_call": n,
            "epoch_ms": 1e3 * best, "epochs_per_s": 1 / best, "run_epochs_per_s": runs / best,
            "_setup": r.s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="JSON file (rewritten after every row)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for all rows (default 120)")
    ap.add_argument("--preset", default="paper", help="size of the training rows (default paper: p=113, d=256)")
    ap.add_argument("--runs", default="2,4,8,16", help="multi-run sizes for the scaling rows")
    args = ap.parse_args()
    b = Bench(args.out, args.budget)
    gpu = b.doc["device"] != "cpu"
    # no logging (only epochs 0 and the last are logged, never reached); epochs only sets that
    cfg = preset(args.preset).replace(log_linear=0, log_log=0, epochs=1 << 20)
    b.doc["size"] = {"preset": args.preset, "p": cfg.p, "d_model": cfg.d_model, "n_heads": cfg.n_heads,
                     "n_train": cfg.n_train, "dropout": cfg.dropout}

    peaks = {}
    n = 8192 if gpu else 2048
    for prec in ("default", "highest"):
        _, res = b.row("peak", 5 if gpu else 15, lambda prec=prec: matmul_gflops(n, 5, prec), precision=prec)
        if res:
            peaks[prec] = res["gflops"]

    model_gf = epoch_flops(cfg) / 1e9
    est_compile, single = 15.0, None  # before anything is measured: a p = 113 chunk compiles in 5-30 s
    row, one = b.row("train", est_compile + 3 * CALL_S + 10, lambda: time_training(cfg, 1, b.left()),
                     precision="default")
    if one:
        single, est_compile = one["run_epochs_per_s"], one["compile_s"]
        row["model_gflop_per_epoch"] = model_gf
        row["model_gflops"] = model_gf * one["epochs_per_s"]
        for prec, peak in peaks.items():
            row[f"model_share_of_{prec}_peak"] = row["model_gflops"] / peak
        b.save()

    epoch_s = 1 / single if single else None
    for R in (int(x) for x in args.runs.split(",") if x):
        est = 1.3 * est_compile + 3 * CALL_S + (2 * R * epoch_s if epoch_s else 30) + 5
        srow, res = b.row("scaling", est, lambda R=R: time_training(cfg, R, b.left()), precision="default")
        if res and single:
            srow["ratio_to_single"] = res["run_epochs_per_s"] / single
            srow["ratio_to_R_single"] = res["run_epochs_per_s"] / (R * single)
            b.save()

    if one:  # XLA's count compiles the step once more: after the rows that need no count
        _, xla = b.row("xla_flops", 1.5 * est_compile + 5,
                       lambda: {"xla_gflop_per_epoch": xla_step_flops(one["_setup"]) / 1e9})
        if xla:
            row["xla_gflop_per_epoch"] = xla["xla_gflop_per_epoch"]
            row["xla_gflops"] = xla["xla_gflop_per_epoch"] * one["epochs_per_s"]
            for prec, peak in peaks.items():
                row[f"xla_share_of_{prec}_peak"] = row["xla_gflops"] / peak
            b.save()

    def highest() -> dict:
        with precision("highest"):
            res = time_training(cfg, 1, b.left())
        return res | {"model_gflops": model_gf * res["epochs_per_s"]}

    b.row("train_highest", est_compile + 3 * CALL_S + 10, highest, precision="highest")
    print(json.dumps({k: v for k, v in b.doc.items() if k != "rows"}))
    for row in b.doc["rows"]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
