"""Training: full-batch steps compiled into chunks, R runs at once with ``vmap``.

Functions are written for ONE run and vmapped over a leading run axis. What varies across
runs (seed, split seed, lambda, alpha, weight decay, lr, dropout, sub-task mask) enters as
per-run arrays, so one compiled program trains the whole grid.

A chunk is ``lax.fori_loop(start, stop, step)`` with ``start``/``stop`` traced, so every chunk
length reuses ONE compiled program (chunks end at powers of two, every ``chunk`` epochs and
at the end; a wall-clock checkpoint may split one). Inside a chunk nothing returns to the
host: at each logged epoch a ``lax.cond`` evaluates the model on all p^2 samples and writes
metrics, gradient norms and omega into device buffers; the host reads them between chunks.
The loop counter is not batched, so under ``vmap`` the ``cond`` stays a real branch.

With several local devices (GPUs, or ``--xla_force_host_platform_device_count`` on CPU)
the run axis is sharded across them (``NamedSharding`` over a 1-D mesh ``"runs"``) when the
number of runs divides evenly; ``jit`` then runs each device's runs where they live. On one
CPU device, ``Trainer.run`` trains more than ``CPU_RUNS_PER_CALL`` runs as near-equal groups
of at most that many, one group after another (``run_groups``): a few runs at a time keep
their activations in cache.

Epoch e means "after e full-batch steps". Metrics at epoch e are of the parameters after
step e; gradient norms at epoch e are those of the raw gradient step e used (none at 0); they
are computed inside the logging branch, so unlogged steps do not pay for them.

The dropout masks of a whole step come from ONE counter-based draw (``model.dropout_masks``)
instead of one PRNG key per example: still an independent Bernoulli draw per example
(``dropout_mask=example``) or per step (``dropout_mask=batch``), from the run's key, so
training stays deterministic given the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, Float, Int

from . import model, tasks
from .config import Config, Grid
from .measures import omega
from .optim import make_optimizer


class Hyper(NamedTuple):
    """Per-run scalars (a leading run axis in a multi-run)."""

    lr: Array
    weight_decay: Array
    lamb: Array
    alpha: Array
    dropout: Array
    grad_perp: Array
    warmup: Array
    lr_decay: Array
    init_scale: Array
    delay_epochs: Array
    lamb_mid: Array
    alpha_mid: Array


class Data(NamedTuple):
    x_train: Int[Array, "n_train 3"]
    y_train: Int[Array, "n_train subtask"]
    y_all: Int[Array, "n subtask"]
    is_train: Float[Array, " n"]
    weights: Float[Array, " subtask"]
    delayed: Float[Array, " subtask"]  # 1: out of the loss while epoch <= delay_epochs (a curriculum)


class State(NamedTuple):
    params: model.Params
    opt_state: optax.OptState
    key: Array  # uint32[2] raw PRNG key (stored in checkpoints as a plain tensor)


class Logs(NamedTuple):
    """Device buffers, one slot per logged epoch (leading axis), then the run axis."""

    metrics: Float[Array, "slot run 4 subtask"]  # train loss, train acc, valid loss, valid acc
    grad_norms: Float[Array, "slot run matrix"]
    omega: Int[Array, "slot run freq"]


METRIC_ROWS = ("train_loss", "train_acc", "valid_loss", "valid_acc")


def log_epochs(cfg: Config) -> np.ndarray:
    """Union of linearly and logarithmically spaced epochs, always with 0 and the last."""
    e = cfg.epochs
    lin = np.rint(np.linspace(0, e, cfg.log_linear + 1)) if cfg.log_linear else np.array([])
    log = np.rint(np.geomspace(1, e, cfg.log_log)) if cfg.log_log else np.array([])
    return np.unique(np.concatenate([lin, log, [0, e]]).astype(np.int64))


def checkpoint_epochs(cfg: Config) -> list[int]:
    """Epochs whose parameters are kept: 0, every power of two, every ``ckpt_every``, the last."""
    e = cfg.epochs
    pows = {1 << i for i in range(e.bit_length()) if (1 << i) <= e}
    every = set(range(cfg.ckpt_every, e + 1, cfg.ckpt_every)) if cfg.ckpt_every else set()
    return sorted(pows | every | {0, e})


def chunk_ends(cfg: Config, start: int) -> list[int]:
    ends = set(checkpoint_epochs(cfg)) | set(range(cfg.chunk, cfg.epochs + 1, cfg.chunk))
    return sorted(x for x in ends if x > start)


@dataclass(frozen=True)
class Setup:
    """Everything fixed for a multi-run: the shared shapes and the per-run inputs."""

    grid: Grid
    task: tasks.Task
    data: Data  # stacked over runs
    hyper: Hyper  # stacked over runs
    matrices: tuple[str, ...]
    epochs: np.ndarray  # logged epochs

    @property
    def cfg(self) -> Config:
        return self.grid.base

    @property
    def runs(self) -> list[Config]:
        return self.grid.runs

    @property
    def n_runs(self) -> int:
        return len(self.runs)


def setup(grid: Grid) -> Setup:
    runs = grid.runs
    cfg = grid.base
    task = tasks.task_of(cfg)
    x_all = tasks.inputs(cfg.p)
    per_run = []
    for r in runs:
        y = tasks.targets(r)
        train_idx, _ = tasks.split(r)
        is_train = np.zeros(cfg.p * cfg.p, np.float32)
        is_train[train_idx] = 1.0
        delayed = np.isin(np.asarray(task.subtasks), r.delay).astype(np.float32)
        per_run.append(Data(x_all[train_idx], y[train_idx], y, is_train,
                            tasks.loss_weights(r).astype(np.float32), delayed))
    data = Data(*(jnp.asarray(np.stack(col)) for col in zip(*per_run)))
    f32 = lambda xs: jnp.asarray(np.array(xs, np.float32))  # noqa: E731
    hyper = Hyper(f32([r.lr for r in runs]), f32([r.weight_decay for r in runs]),
                  f32([r.lambda_ for r in runs]), f32([r.alpha for r in runs]),
                  f32([r.dropout for r in runs]), f32([r.grad_perp for r in runs]), f32([r.warmup for r in runs]),
                  f32([r.lr_decay for r in runs]),
                  f32([r.init_scale for r in runs]), f32([r.delay_epochs for r in runs]),
                  f32([r.lambda_mid for r in runs]), f32([r.alpha_mid for r in runs]))
    shapes = model.param_shapes(cfg.p + 1, cfg.d_model, cfg.n_heads, cfg.depth, task.n_out)
    data, hyper = _place(data, len(runs)), _place(hyper, len(runs))
    return Setup(grid, task, data, hyper, tuple(shapes), log_epochs(cfg))


def run_sharding(n_runs: int, axis: int = 0) -> NamedSharding | None:
    """Arrays with a run axis at ``axis``, split across the local devices; ``None`` (the
    default device) with one device or when the runs do not divide evenly."""
    devices = jax.local_devices()
    if len(devices) == 1 or n_runs % len(devices):
        return None
    spec = PartitionSpec(*([None] * axis), "runs")
    return NamedSharding(Mesh(np.array(devices), ("runs",)), spec)


def _place(tree, n_runs: int, axis: int = 0):
    sharding = run_sharding(n_runs, axis)
    return tree if sharding is None else jax.device_put(tree, sharding)


def _optimizer(s: Setup, h: Hyper) -> optax.GradientTransformation:
    """One run's optimiser; ⊥Grad and the lr schedule join the program only if some run uses them."""
    cfg, runs = s.cfg, s.runs
    scheduled = any(r.warmup > 0 or r.lr_decay > 0 for r in runs)
    return make_optimizer(cfg.filter, h.lr, h.weight_decay, h.lamb, h.alpha, cfg.window, cfg.ema_start,
                          cfg.optimizer, h.grad_perp if any(r.grad_perp > 0 for r in runs) else None,
                          h.warmup if scheduled else None, h.lr_decay, cfg.epochs, h.lamb_mid, h.alpha_mid)


def init_state(s: Setup) -> State:
    cfg = s.cfg

    def one(seed: Array, h: Hyper) -> State:
        init_key, train_key = jax.random.split(jax.random.PRNGKey(seed))
        params = model.init(init_key, s.task, cfg.d_model, cfg.n_heads, cfg.depth, cfg.init)
        params = jax.tree.map(lambda w: w * h.init_scale, params)
        return State(params, _optimizer(s, h).init(params), train_key)

    seeds = jnp.asarray([r.seed for r in s.runs], jnp.uint32)
    return _place(jax.jit(jax.vmap(one))(seeds, s.hyper), s.n_runs)


def train_logits(params: model.Params, x: Int[Array, "batch 3"], key: Array | None, dropout: Array,
                 cfg: Config) -> Float[Array, "batch n_out"]:
    """Training-mode logits of a batch (dropout on when ``key`` is given)."""
    at = model.readout_position(cfg.readout)
    if key is None:
        return jax.vmap(lambda xi: model.forward(params, xi, readout=at)[0])(x)
    per_example = cfg.dropout_mask == "example"  # "batch": the study's code, one mask per step
    masks = model.dropout_masks(key, dropout, model.depth_of(params), params["W_E"].shape[-1],
                                x.shape[0] if per_example else None)
    return jax.vmap(lambda xi, m: model.forward(params, xi, m, dropout, readout=at)[0],
                    in_axes=(0, 0 if per_example else None))(x, masks)


def loss_weights(d: Data, h: Hyper, epoch: Array) -> Float[Array, " subtask"]:
    """The sub-task weights of step ``epoch`` (1-based): the delayed ones are 0 up to delay_epochs."""
    return d.weights * (1.0 - d.delayed * (epoch <= h.delay_epochs))


def _loss(params: model.Params, d: Data, w: Array, key: Array | None, dropout: Array, task: tasks.Task,
          cfg: Config) -> Array:
    logits = train_logits(params, d.x_train, key, dropout, cfg)
    loss, _ = model.per_subtask_loss_acc(logits, d.y_train, task, cfg.loss)
    return (loss.mean(0) * w).sum() / w.sum()


def _step(s: Setup, use_dropout: bool, state: State, d: Data, h: Hyper, epoch: Array
          ) -> tuple[State, model.Params]:
    """Step ``epoch`` (1-based) of one run: the new state and the raw gradient it used."""
    key, sub = jax.random.split(state.key)
    w = loss_weights(d, h, epoch)
    grads = jax.grad(_loss)(state.params, d, w, sub if use_dropout else None, h.dropout, s.task, s.cfg)
    updates, opt_state = _optimizer(s, h).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return State(params, opt_state, key), grads


def grad_norms(s: Setup, grads: model.Params) -> Array:
    """Frobenius norm of each matrix's gradient, in ``s.matrices`` order."""
    return jnp.stack([jnp.linalg.norm(grads[m]) for m in s.matrices])


def _split_metrics(loss: Array, acc: Array, is_train: Array) -> Float[Array, "4 subtask"]:
    tr = is_train[:, None]
    n_tr, n_va = tr.sum(), (1 - tr).sum()
    return jnp.stack([(loss * tr).sum(0) / n_tr, (acc * tr).sum(0) / n_tr,
                      (loss * (1 - tr)).sum(0) / n_va, (acc * (1 - tr)).sum(0) / n_va])


def evaluate(s: Setup, params: model.Params, d: Data, record_omega: bool = True
             ) -> tuple[Float[Array, "4 subtask"], Int[Array, " freq"]]:
    """Eval-mode metrics on both splits and omega counts (zeros if not recorded), for one run."""
    cfg = s.cfg
    x_all = jnp.asarray(tasks.inputs(cfg.p))
    at = model.readout_position(cfg.readout)
    logits, cache = jax.vmap(lambda x: model.forward(params, x, with_cache=record_omega, readout=at))(x_all)
    loss, acc = model.per_subtask_loss_acc(logits, d.y_all, s.task, cfg.loss)
    metrics = _split_metrics(loss, acc, d.is_train)
    if not record_omega:
        return metrics, jnp.zeros(cfg.p // 2 + 1, jnp.int32)
    post = cache[f"blocks.{cfg.depth - 1}.mlp.hook_post"][:, 0, :]  # (p^2, d_mlp) at the readout position
    grids = post.T.reshape(-1, cfg.p, cfg.p)
    return metrics, omega.active_counts(grids, cfg.omega_k)


# Runs per compiled call on a CPU (``Trainer.run``). Measured on a 2-core CPU at the quick size
# (docs/benchmark.md): 21 runs trained as 7 groups of 3 ran 1.11-1.13x faster per CPU-second
# than as one vmapped batch of 21 (groups of 2, 4 or 5: 1.09-1.10x, of 7: 1.03x, of 1: 0.95x):
# a few runs' activations stay in cache, and each op is still large enough for two threads.
CPU_RUNS_PER_CALL = 3


def run_groups(n_runs: int, per_call: int | None = None) -> list[tuple[int, int]]:
    """Contiguous ranges of runs that ``Trainer.run`` trains one after another.

    One range (every run in one program) unless the runs live on one CPU device and outnumber
    ``per_call`` (default ``CPU_RUNS_PER_CALL``); then ``ceil(n_runs / per_call)`` ranges of
    near-equal size (at most two sizes, so at most two compiled programs). An accelerator, or
    runs sharded across devices, take every run at once.
    """
    if per_call is None:
        if jax.local_devices()[0].platform != "cpu" or run_sharding(n_runs) is not None:
            return [(0, n_runs)]
        per_call = CPU_RUNS_PER_CALL
    g = -(-n_runs // max(1, per_call))
    ends = np.cumsum([n_runs // g + (i < n_runs % g) for i in range(g)])
    return [(int(a), int(b)) for a, b in zip(np.concatenate([[0], ends[:-1]]), ends)]


def _runs(tree, a: int, b: int, axis: int = 0):
    return jax.tree.map(lambda x: jax.lax.slice_in_dim(x, a, b, axis=axis), tree)


class Trainer:
    """Compiled chunk and eval programs for one ``Setup``.

    ``run`` trains the runs of each ``run_groups`` range in turn (``per_call`` overrides the
    group size; the runs are independent, so grouping changes no result beyond float rounding
    of a different batch size)."""

    def __init__(self, s: Setup, record_omega: bool = True, per_call: int | None = None):
        self.s = s
        self.record_omega = record_omega
        use_dropout = any(r.dropout > 0 for r in s.runs)
        E = s.cfg.epochs
        slot = np.full(E + 1, -1, np.int32)
        slot[s.epochs] = np.arange(len(s.epochs), dtype=np.int32)
        self.slot_of = jnp.asarray(slot)
        step = jax.vmap(partial(_step, s, use_dropout), in_axes=(0, 0, 0, None))
        ev = jax.vmap(self._eval_one)
        norms = jax.vmap(partial(grad_norms, s))

        def run_chunk(state: State, logs: Logs, data: Data, hyper: Hyper, start: Array,
                      stop: Array) -> tuple[State, Logs]:
            def body(i: Array, carry: tuple[State, Logs]) -> tuple[State, Logs]:
                st, lg = carry
                st, grads = step(st, data, hyper, i + 1)
                slot_i = self.slot_of[i + 1]

                def write(lg: Logs) -> Logs:
                    m, w = ev(st.params, data)
                    return Logs(lg.metrics.at[slot_i].set(m), lg.grad_norms.at[slot_i].set(norms(grads)),
                                lg.omega.at[slot_i].set(w))

                return st, jax.lax.cond(slot_i >= 0, write, lambda lg: lg, lg)

            return jax.lax.fori_loop(start, stop, body, (state, logs))

        # Every run at once, the data closed over; and a group's runs, its data passed in.
        self._chunk = jax.jit(lambda state, logs, start, stop: run_chunk(state, logs, s.data, s.hyper, start, stop),
                              donate_argnums=(0, 1))
        self._group_chunk = jax.jit(run_chunk, donate_argnums=(0, 1))
        self._eval = jax.jit(ev)
        self.groups = run_groups(s.n_runs, per_call)
        self._group_inputs = [(_runs(s.data, a, b), _runs(s.hyper, a, b)) for a, b in self.groups]

    def _eval_one(self, params: model.Params, d: Data) -> tuple[Array, Array]:
        return evaluate(self.s, params, d, self.record_omega)

    def empty_logs(self) -> Logs:
        s = self.s
        n, R = len(s.epochs), s.n_runs
        return _place(Logs(jnp.full((n, R, 4, len(s.task.subtasks)), jnp.nan, jnp.float32),
                           jnp.full((n, R, len(s.matrices)), jnp.nan, jnp.float32),
                           jnp.zeros((n, R, s.cfg.p // 2 + 1), jnp.int32)), R, axis=1)

    def eval_now(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        m, w = self._eval(state.params, self.s.data)
        return np.asarray(m), np.asarray(w)

    def run(self, state: State, logs: Logs, start: int, stop: int) -> tuple[State, Logs]:
        start_, stop_ = jnp.int32(start), jnp.int32(stop)
        if len(self.groups) == 1:
            return self._chunk(state, logs, start_, stop_)
        parts = []
        for (a, b), (d, h) in zip(self.groups, self._group_inputs):
            part = self._group_chunk(_runs(state, a, b), _runs(logs, a, b, axis=1), d, h, start_, stop_)
            parts.append(jax.block_until_ready(part))  # one group at a time: its working set stays in cache
        return (jax.tree.map(lambda *xs: jnp.concatenate(xs), *(p[0] for p in parts)),
                jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=1), *(p[1] for p in parts)))


def train(grid: Grid, record_omega: bool = True) -> tuple[State, Logs, Setup]:
    """Train a grid in memory, no files (the Python API; ``runner`` adds the run directory)."""
    s = setup(grid)
    t = Trainer(s, record_omega)
    state, logs = init_state(s), t.empty_logs()
    m, w = t.eval_now(state)
    logs = Logs(logs.metrics.at[0].set(m), logs.grad_norms, logs.omega.at[0].set(w))
    start = 0
    for end in chunk_ends(s.cfg, 0):
        state, logs = t.run(state, logs, start, end)
        start = end
    return state, logs, s
