"""Training speed against the machine's own limit, in one run.

    python benchmarks/bench.py [--quick]

Measures the float32 matmul peak, training throughput at the study's size (p=113, d=256) and
at the ``quick`` preset's, multi-run scaling, the cost of logging and of omega recording, and
the optimised code beside a plain reference (plain.py). Prints a table and writes
``benchmarks/results/<machine>.json`` (``<machine>-quick.json`` with ``--quick``).

Every figure is a best-of-N wall time after a compiling warm-up, with
``jax.block_until_ready``; ratios come from measurements taken in this one process, side by
side, so a shared machine shifts them less than the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plain  # noqa: E402
from miiii import tasks, train  # noqa: E402
from miiii.config import Config, Grid, preset  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine() -> str:
    """A slug of the accelerator's (or CPU's) name and the core count."""
    dev = jax.devices()[0]
    if dev.platform == "cpu":
        name = platform.processor() or "cpu"
        try:
            name = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
        except (OSError, AttributeError):
            pass
    else:
        name = dev.device_kind
    name = re.sub(r"\((r|tm)\)|cpu|@.*", "", name, flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-{os.cpu_count()}c"


def best(fn, reps: int) -> float:
    """The least wall time of ``reps`` calls of ``fn`` (which blocks until done)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def matmul_peak(n: int, reps: int) -> float:
    """GFLOP/s of a square float32 matmul: the machine's limit for this model's work."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    jax.block_until_ready(f(a))
    return 2 * n**3 / best(lambda: jax.block_until_ready(f(a)), reps) / 1e9


def forward_flops(cfg: Config) -> int:
    """Matmul FLOPs of one example's forward, as the model is defined (docs/study.md, model).

    Blocks before the last see all 3 positions; the last block projects Q for the ``=``
    query only and K, V for all 3 positions, then attention output, MLP and unembedding for
    that one position. Elementwise work (softmax, ReLU, dropout, loss) is not counted.
    """
    d, d_mlp, n_out = cfg.d_model, cfg.d_mlp, tasks.task_of(cfg).n_out
    block = lambda q: 2 * d * d * (q + 3 + 3) + 2 * 2 * q * 3 * d + 2 * q * d * d + 2 * 2 * q * d * d_mlp  # noqa: E731
    return (cfg.depth - 1) * block(3) + block(1) + 2 * d * n_out


def epoch_flops(cfg: Config) -> int:
    """Forward + backward of a full-batch epoch: 3x the forward (the usual estimate)."""
    return 3 * cfg.n_train * forward_flops(cfg)


def xla_step_flops(s: train.Setup) -> float:
    """XLA's count for one compiled training step of all runs (cost analysis)."""
    use_dropout = any(r.dropout > 0 for r in s.runs)
    step = jax.jit(jax.vmap(partial(train._step, s, use_dropout)))  # the Trainer's loop body
    cost = step.lower(train.init_state(s), s.data, s.hyper).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost["flops"])


class Timer:
    """A Trainer and its state, training ``n`` epochs per call through the public API."""

    def __init__(self, cfg: Config, runs: int = 1, record_omega: bool = False):
        self.s = train.setup(Grid(cfg, {"seed": tuple(range(runs))} if runs > 1 else {}))
        self.t = train.Trainer(self.s, record_omega)
        self.state, self.logs = train.init_state(self.s), self.t.empty_logs()
        self.epoch = 1
        self(1)  # compile

    def __call__(self, n: int) -> None:
        assert self.epoch + n < self.s.cfg.epochs, "stay clear of the last (logged) epoch"
        self.state, self.logs = self.t.run(self.state, self.logs, self.epoch, self.epoch + n)
        jax.block_until_ready(self.state)
        self.epoch += n


class PlainTimer:
    def __init__(self, cfg: Config):
        self.state, self.step = plain.make(cfg)
        self(1)

    def __call__(self, n: int) -> None:
        self.state = plain.train(self.state, self.step, n)
        jax.block_until_ready(self.state)


def no_logs(cfg: Config) -> Config:
    return cfg.replace(log_linear=0, log_log=0)  # then only epochs 0 and the last are logged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings, no plain run at p=113 (~3 min on 2 cores)")
    args = ap.parse_args()
    reps = 2 if args.quick else 3
    out: dict = {"machine": machine(), "devices": [str(d) for d in jax.devices()], "jax": jax.__version__,
                 "quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    t_start = time.perf_counter()
    dev = jax.devices()[0]
    if dev.platform == "cpu":
        print("No GPU here: every figure below is CPU-only.")
    peak = matmul_peak(3072 if args.quick else 4096, reps + 1)
    out["peak_gflops"] = peak

    sizes = {"quick": (preset("quick"), 20 if args.quick else 100),
             "p113": (preset("paper"), 1 if args.quick else 4)}
    rows = []
    for name, (cfg, n) in sizes.items():
        cfg = no_logs(cfg)
        timer = Timer(cfg)
        sec = best(lambda timer=timer, n=n: timer(n), reps) / n
        flops, xla = epoch_flops(cfg), xla_step_flops(timer.s)
        row = dict(size=name, p=cfg.p, d_model=cfg.d_model, n_train=cfg.n_train, epochs_per_s=1 / sec,
                   model_gflop_per_epoch=flops / 1e9, xla_gflop_per_epoch=xla / 1e9,
                   model_gflops=flops / sec / 1e9, xla_gflops=xla / sec / 1e9)
        row["ratio_to_peak"] = row["model_gflops"] / peak
        rows.append(row)
        del timer
    out["throughput"] = rows

    quick, n = no_logs(preset("quick")), 20 if args.quick else 100
    scaling, single = [], None
    for R in (1, 2, 4, 8, 16):
        timer = Timer(quick, R)
        m = max(4, n // R)
        c0 = time.process_time()
        rate = R * m / best(lambda timer=timer, m=m: timer(m), reps)
        cpu_rate = R * m * reps / (time.process_time() - c0)  # per CPU-second: less load-dependent
        single = single or (rate, cpu_rate)
        scaling.append(dict(runs=R, run_epochs_per_s=rate, ratio_to_single=rate / single[0],
                            ratio_to_R_single=rate / (R * single[0]), run_epochs_per_cpu_s=cpu_rate,
                            cpu_ratio_to_single=cpu_rate / single[1]))
        del timer
    out["scaling"] = scaling

    # Logging: every epoch logged (metrics; metrics + omega) against none, side by side.
    small = quick.replace(epochs=4 * n + 8)
    timers = {"none": Timer(small), "metrics": Timer(small.replace(log_linear=small.epochs)),
              "metrics+omega": Timer(small.replace(log_linear=small.epochs), record_omega=True)}
    per = {k: best(lambda t=t: t(n // 2), reps) for k, t in timers.items()}
    n_logs, E = len(train.log_epochs(preset("quick"))), preset("quick").epochs
    out["logging"] = [dict(kind=k, per_logged_epoch=per[k] / per["none"],
                           preset_run=1 + n_logs / E * (per[k] / per["none"] - 1))
                      for k in ("metrics", "metrics+omega")]
    del timers

    # Optimised against plain, alternated so that both see the same load.
    plain_rows = []
    for name, (cfg, n) in sizes.items():
        if args.quick and name != "quick":
            continue
        opt, ref = Timer(no_logs(cfg)), PlainTimer(cfg)
        t_opt, t_ref = [], []
        for _ in range(reps):
            t_opt.append(best(lambda opt=opt, n=n: opt(n), 1) / n)
            t_ref.append(best(lambda ref=ref, n=n: ref(n), 1) / n)
        plain_rows.append(dict(size=name, optimised_ms=1e3 * min(t_opt), plain_ms=1e3 * min(t_ref),
                               speedup=min(t_ref) / min(t_opt)))
        del opt, ref
    out["plain"] = plain_rows
    out["wall_s"] = time.perf_counter() - t_start
    report(out)
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, out["machine"] + ("-quick" if args.quick else "") + ".json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nwrote {os.path.relpath(path)} ({out['wall_s']:.0f} s)")


def report(out: dict) -> None:
    print(f"\nmachine {out['machine']}  ({', '.join(out['devices'])}, jax {out['jax']})")
    print(f"float32 matmul peak: {out['peak_gflops']:.0f} GFLOP/s\n")
    print(f"{'size':6} {'p':>4} {'d':>4} {'epochs/s':>9} {'model GF/ep':>12} {'XLA GF/ep':>10} "
          f"{'model GF/s':>11} {'of peak':>8}")
    for r in out["throughput"]:
        print(f"{r['size']:6} {r['p']:4} {r['d_model']:4} {r['epochs_per_s']:9.2f} "
              f"{r['model_gflop_per_epoch']:12.2f} {r['xla_gflop_per_epoch']:10.2f} "
              f"{r['model_gflops']:11.1f} {r['ratio_to_peak']:8.0%}")
    print(f"\n{'runs':>4} {'run-epochs/s':>13} {'x single':>9} {'vs R x single':>14} "
          f"{'per CPU-s':>10} {'x single':>9}   (quick size, vmapped)")
    for r in out["scaling"]:
        print(f"{r['runs']:4} {r['run_epochs_per_s']:13.1f} {r['ratio_to_single']:9.2f} "
              f"{r['ratio_to_R_single']:14.2f} {r['run_epochs_per_cpu_s']:10.1f} {r['cpu_ratio_to_single']:9.2f}")
    print(f"\n{'logging (quick size)':22} {'every epoch':>12} {'preset run':>11}   (time / time without)")
    for r in out["logging"]:
        print(f"{r['kind']:22} {r['per_logged_epoch']:12.2f} {r['preset_run']:11.3f}")
    print(f"\n{'size':6} {'optimised ms/ep':>16} {'plain ms/ep':>12} {'speed-up':>9}")
    for r in out["plain"]:
        print(f"{r['size']:6} {r['optimised_ms']:16.2f} {r['plain_ms']:12.2f} {r['speedup']:9.1f}x")


if __name__ == "__main__":
    main()
