"""Compile time of the training chunk, and steady-state epochs/s, for one preset.

    python benchmarks/compile_time.py [--preset paper] [--set key=value ...] [--epochs N] [--reps R]

Builds ``train.setup(grid)`` and a ``Trainer`` exactly as a run does, then times tracing +
lowering and XLA compilation of the chunk program (``Trainer._chunk``: the fori_loop of
training steps with the logged-epoch evaluation inside) separately. With ``--epochs N`` it
also trains N epochs per call (after a warm-up call) and reports the best of ``--reps`` as
epochs/s. XLA's own warnings (e.g. slow constant folding) go to stderr: redirect it to see
them. ``compile_cpu_s`` is the process's CPU time during compilation (less sensitive to a
shared machine than the wall time). ``--loss padded-gather`` swaps in the loss as first
written, for a before/after comparison. One JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp

from miiii import model, train
from miiii.config import Config, Grid, parse_overrides, preset


def padded_gather_loss(logits, y, task):
    """The loss as first written: its gradient is a scatter-add into the padded
    (batch, sub-task, widest) array, which XLA constant-folds slowly at p = 113."""
    z = model.subtask_logits(logits.astype(jnp.float32), task)
    nll = -jnp.take_along_axis(jax.nn.log_softmax(z, axis=-1), y[..., None], axis=-1)[..., 0]
    loss = nll / jnp.log(jnp.asarray(task.n_classes, jnp.float32))
    return loss, (jnp.argmax(z, axis=-1) == y).astype(jnp.float32)


def run_set_main(base: Config) -> Grid:
    """The shape-sharing runs ``miiii reproduce`` trains as one multi-run (a copy, so that this
    script does not depend on the pipeline's module layout)."""
    runs = [base.replace(seed=s) for s in range(3)] + [base.replace(lambda_=0.0), base.replace(dropout=0.0)]
    if base.p > 7 and len(base.primes) > 4:
        runs.append(base.replace(task="masked"))
    return Grid.of_runs(runs + [base.replace(task="basis")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--set", nargs="*", default=[], help="key=value overrides (e.g. epochs=256)")
    ap.add_argument("--epochs", type=int, default=0, help="epochs per timed call (0: compile only)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-logs", action="store_true", help="log_linear=log_log=0 (as bench.py times)")
    ap.add_argument("--loss", choices=("model", "padded-gather"), default="model",
                    help="padded-gather: the loss as first written (take_along_axis on the padded "
                         "sub-task logits), to compare against")
    ap.add_argument("--run-set", action="store_true",
                    help="the reproduce command's main multi-run (3 seeds, lambda=0, dropout=0, masked, basis)")
    args = ap.parse_args()

    if args.loss == "padded-gather":
        model.per_subtask_loss_acc = padded_gather_loss
    grid = parse_overrides(preset(args.preset), list(args.set))
    if args.no_logs:
        grid = Grid(grid.base.replace(log_linear=0, log_log=0), grid.axes, grid.rows)
    if args.run_set:
        grid = run_set_main(grid.base)
    cfg = grid.base
    s = train.setup(grid)
    t = train.Trainer(s, record_omega=True)
    state, logs = train.init_state(s), t.empty_logs()
    jax.block_until_ready((state, logs))

    t0 = time.perf_counter()
    lowered = t._chunk.lower(state, logs, jnp.int32(0), jnp.int32(1))
    t1, c1 = time.perf_counter(), time.process_time()
    lowered.compile()
    t2, c2 = time.perf_counter(), time.process_time()
    out = dict(preset=args.preset, p=cfg.p, d_model=cfg.d_model, n_heads=cfg.n_heads, runs=s.n_runs,
               device=jax.devices()[0].platform, jax=jax.__version__,
               loss=args.loss, lower_s=round(t1 - t0, 2), compile_s=round(t2 - t1, 2),
               compile_cpu_s=round(c2 - c1, 2),
               max_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if args.epochs:
        n = args.epochs
        state, logs = t.run(state, logs, 1, 1 + n)  # warm-up: the jit cache's own compile
        jax.block_until_ready(state)
        epoch, times, cpu = 1 + n, [], []
        for _ in range(args.reps):
            assert epoch + n < cfg.epochs, "stay clear of the last (logged) epoch"
            a, c = time.perf_counter(), time.process_time()
            state, logs = t.run(state, logs, epoch, epoch + n)
            jax.block_until_ready(state)
            times.append(time.perf_counter() - a)
            cpu.append(time.process_time() - c)
            epoch += n
        out |= dict(epochs_per_call=n, epochs_per_s=round(n / min(times), 2),
                    epochs_per_s_all=[round(n / x, 2) for x in times],
                    epochs_per_cpu_s=round(n / min(cpu), 2))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
