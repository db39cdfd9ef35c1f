"""Training speed against the machine's own limit, in one run.

    python benchmarks/bench.py [--quick] [--compare OLD_TRAIN_PY]

Measures the float32 matmul peak, training throughput at the study's size (p=113, d=256) and
at the ``quick`` preset's, multi-run scaling, the cost of logging and of omega recording, the
training time of ``miiii reproduce --preset long`` estimated from its own two multi-runs, and
the optimised code beside a plain reference (plain.py). Prints a table and writes
``benchmarks/results/<machine>.json`` (``<machine>-quick.json`` with ``--quick``).

``--compare`` loads another version of ``miiii/train.py`` (e.g. ``git show
HEAD~1:src/miiii/train.py > /tmp/train_old.py``) and times it beside the installed one,
alternating, for 1, 7 and 21 runs and for the reproduce estimate: before/after side by side.

Every figure is a best-of-N wall time after a compiling warm-up, with
``jax.block_until_ready``; ratios come from measurements taken in this one process, side by
side, so a shared machine shifts them less than the absolute numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
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
    """A Trainer and its state, training ``n`` epochs per call through the public API.

    ``grid`` overrides ``cfg``/``runs``; ``mod`` is the training module (``--compare`` passes
    another version of it)."""

    def __init__(self, cfg: Config | None = None, runs: int = 1, record_omega: bool = False,
                 grid: Grid | None = None, mod=train, **trainer_kw):
        grid = grid or Grid(cfg, {"seed": tuple(range(runs))} if runs > 1 else {})
        self.s = mod.setup(grid)
        self.t = mod.Trainer(self.s, record_omega, **trainer_kw)
        self.state, self.logs = mod.init_state(self.s), self.t.empty_logs()
        self.epoch = 1
        self(1)  # compile

    def __call__(self, n: int) -> None:
        assert self.epoch + n < self.s.cfg.epochs, "stay clear of the last (logged) epoch"
        self.state, self.logs = self.t.run(self.state, self.logs, self.epoch, self.epoch + n)
        jax.block_until_ready(self.state)
        self.epoch += n


def rates(timers: dict, n: dict, reps: int) -> dict:
    """Run-epochs per second of wall and of this process's CPU time, best of ``reps`` calls,
    the timers called in turn so that all see the same load."""
    wall = {k: float("inf") for k in timers}
    cpu = dict(wall)
    for _ in range(reps):
        for k, t in timers.items():
            c0, w0 = time.process_time(), time.perf_counter()
            t(n[k])
            wall[k] = min(wall[k], time.perf_counter() - w0)
            cpu[k] = min(cpu[k], time.process_time() - c0)
    return {k: (t.s.n_runs * n[k] / wall[k], t.s.n_runs * n[k] / cpu[k]) for k, t in timers.items()}


def reproduce_sets() -> dict[str, Grid]:
    """``reproduce --preset long``'s multi-runs (main: 21 runs, nanda: 5), logging off."""
    from miiii.pipelines.reproduce import run_set  # the analysis and report stack: only here

    return {name: Grid.of_runs([no_logs(r) for r in grid.runs]) for name, (grid, _) in run_set("long").items()}


def reproduce_estimate(mods: dict, n: int, reps: int, logging: float) -> dict:
    """Training seconds of ``reproduce --preset long`` per training module: each multi-run's
    epochs at its measured rate, times the logging factor of a preset run (``logging``)."""
    out = {k: {} for k in mods}
    for name, grid in reproduce_sets().items():
        timers = {k: Timer(grid=grid, mod=m) for k, m in mods.items()}
        m = max(4, n // len(grid.runs))
        r = rates(timers, {k: m for k in timers}, reps)
        for k, (wall, cpu) in r.items():
            runs, epochs = len(grid.runs), grid.base.epochs
            out[k][name] = dict(runs=runs, run_epochs_per_s=wall, run_epochs_per_cpu_s=cpu,
                                seconds=runs * epochs / wall * logging)
        del timers
    for k in out:
        out[k]["seconds"] = sum(v["seconds"] for v in out[k].values())
    return out


class PlainTimer:
    def __init__(self, cfg: Config):
        self.state, self.step = plain.make(cfg)
        self(1)

    def __call__(self, n: int) -> None:
        self.state = plain.train(self.state, self.step, n)
        jax.block_until_ready(self.state)


def no_logs(cfg: Config) -> Config:
    return cfg.replace(log_linear=0, log_log=0)  # then only epochs 0 and the last are logged


def load_train(path: str):
    """Another version of ``miiii/train.py`` as a module of the installed package."""
    spec = importlib.util.spec_from_file_location("miiii._train_compare", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "miiii"
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings, no plain run at p=113 (~3 min on 2 cores)")
    ap.add_argument("--compare", metavar="TRAIN_PY", help="another miiii/train.py to time beside this one")
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
    for R in (1, 2, 4, 7, 8, 16, 21):
        timer = Timer(quick, R)
        m = max(4, n // R)
        rate, cpu_rate = rates({"t": timer}, {"t": m}, reps)["t"]  # per CPU-second: less load-dependent
        single = single or (rate, cpu_rate)
        scaling.append(dict(runs=R, run_epochs_per_s=rate, ratio_to_single=rate / single[0],
                            ratio_to_R_single=rate / (R * single[0]), run_epochs_per_cpu_s=cpu_rate,
                            cpu_ratio_to_single=cpu_rate / single[1]))
        del timer
    out["scaling"] = scaling

    # The same 21 runs in one vmapped program and as Trainer.run trains them (on a CPU, groups
    # of train.CPU_RUNS_PER_CALL runs one after another), alternated.
    timers = {"one program": Timer(quick, 21, per_call=21), "as trained": Timer(quick, 21)}
    r = rates(timers, {k: max(4, n // 21) for k in timers}, reps + 1)
    out["grouping"] = [dict(kind=k, groups=len(t.t.groups), run_epochs_per_s=r[k][0], run_epochs_per_cpu_s=r[k][1])
                       for k, t in timers.items()]
    del timers

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

    # reproduce --preset long: its two multi-runs as they train, logging added from above.
    logging = next(r["preset_run"] for r in out["logging"] if r["kind"] == "metrics+omega")
    out["reproduce_quick"] = reproduce_estimate({"this": train}, n, reps, logging)["this"]

    if args.compare:  # before/after, alternated in this process
        other = load_train(args.compare)
        mods = {"before": other, "after": train}
        rows = []
        for R in (1, 7, 21):
            timers = {k: Timer(quick, R, mod=m) for k, m in mods.items()}
            r = rates(timers, {k: max(4, n // R) for k in timers}, reps + 1)
            rows.append(dict(runs=R, **{f"{k}_run_epochs_per_s": r[k][0] for k in mods},
                             **{f"{k}_run_epochs_per_cpu_s": r[k][1] for k in mods}))
            del timers
        est = reproduce_estimate(mods, n, reps, logging)
        out["compare"] = dict(before=os.path.abspath(args.compare), scaling=rows,
                              reproduce_seconds={k: est[k]["seconds"] for k in mods}, reproduce=est)

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
          f"{'per CPU-s':>10} {'x single':>9}   (quick size, Trainer.run)")
    for r in out["scaling"]:
        print(f"{r['runs']:4} {r['run_epochs_per_s']:13.1f} {r['ratio_to_single']:9.2f} "
              f"{r['ratio_to_R_single']:14.2f} {r['run_epochs_per_cpu_s']:10.1f} {r['cpu_ratio_to_single']:9.2f}")
    g = {r["kind"]: r for r in out["grouping"]}
    one, trained = g["one program"], g["as trained"]
    print(f"\n21 runs in one program: {one['run_epochs_per_s']:.1f} run-epochs/s ({one['run_epochs_per_cpu_s']:.1f} "
          f"per CPU-s); in {trained['groups']} groups one after another: {trained['run_epochs_per_s']:.1f} "
          f"({trained['run_epochs_per_cpu_s']:.1f}), x{trained['run_epochs_per_s'] / one['run_epochs_per_s']:.2f} "
          f"(x{trained['run_epochs_per_cpu_s'] / one['run_epochs_per_cpu_s']:.2f} per CPU-s)")
    print(f"\n{'logging (quick size)':22} {'every epoch':>12} {'preset run':>11}   (time / time without)")
    for r in out["logging"]:
        print(f"{r['kind']:22} {r['per_logged_epoch']:12.2f} {r['preset_run']:11.3f}")
    rq = out["reproduce_quick"]
    print(f"\nreproduce --preset long, training: {rq['seconds']:.0f} s = {rq['seconds'] / 60:.1f} min (estimated: "
          + ", ".join(f"{k} {v['runs']} runs at {v['run_epochs_per_s']:.0f} run-epochs/s"
                      for k, v in rq.items() if k != "seconds") + ", with logging)")
    if "compare" in out:
        c = out["compare"]
        print(f"\nbefore = {c['before']}, after = this tree; alternated in this process")
        print(f"{'runs':>4} {'run-epochs/s before':>20} {'after':>7} {'x':>5} {'per CPU-s before':>17} "
              f"{'after':>7} {'x':>5}")
        for r in c["scaling"]:
            b, a = r["before_run_epochs_per_s"], r["after_run_epochs_per_s"]
            bc, ac = r["before_run_epochs_per_cpu_s"], r["after_run_epochs_per_cpu_s"]
            print(f"{r['runs']:4} {b:20.1f} {a:7.1f} {a / b:5.2f} {bc:17.1f} {ac:7.1f} {ac / bc:5.2f}")
        rs = c["reproduce_seconds"]
        print(f"reproduce long training: before {rs['before']:.0f} s ({rs['before'] / 60:.1f} min), "
              f"after {rs['after']:.0f} s ({rs['after'] / 60:.1f} min)")
    print(f"\n{'size':6} {'optimised ms/ep':>16} {'plain ms/ep':>12} {'speed-up':>9}")
    for r in out["plain"]:
        print(f"{r['size']:6} {r['optimised_ms']:16.2f} {r['plain_ms']:12.2f} {r['speedup']:9.1f}x")


if __name__ == "__main__":
    main()
