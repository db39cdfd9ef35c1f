"""Configuration: one frozen dataclass, presets, ``key=value`` parsing, validation.

The public parameter names are the same on the command line, in ``config.json`` and
in Python. The one exception is forced by Python: ``lambda`` is a reserved word, so the
dataclass attribute is ``lambda_`` while every external spelling (CLI, JSON,
``Config.make(**{"lambda": 0.5})``) is ``lambda``.

A *multi-run* is a base ``Config`` plus a grid: ``seed=0,1 lambda=0,0.5`` means four
runs. Only parameters that leave every array shape unchanged may vary (``VARYING``);
they become per-run arrays inside one vmapped computation.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

TASKS = ("miiii", "nanda", "basis", "masked", "divisible")
FILTERS = ("ema", "ema3", "ma", "none")
OPTIMIZERS = ("adamw", "muon")
LOSSES = ("ce", "stablemax")
# Where miiii's defaults differ from the study's code, the study's choice is the second value
# (docs/study.md, "Differences"): init, dropout_mask, readout, ema_start.
CHOICES = {"init": ("fan_in", "study"), "dropout_mask": ("example", "batch"), "readout": ("eq", "first"),
           "ema_start": ("first", "zero")}

# Parameters a multi-run may vary: none of them changes an array shape.
SAME_SHAPE_TASKS = ("miiii", "basis", "masked")
VARYING = ("seed", "split_seed", "lambda", "alpha", "weight_decay", "lr", "dropout", "mask",
           "grad_perp", "warmup", "lr_decay", "init_scale", "q_power", "delay", "delay_epochs",
           "lambda_mid", "alpha_mid")


SET_KEYS = ("mask", "delay")  # parameters that are sets of primes


class ConfigError(ValueError):
    """Bad user input. The CLI prints it as one line and exits with status 2."""


def primes_below(n: int) -> tuple[int, ...]:
    return tuple(q for q in range(2, n) if all(q % d for d in range(2, int(q**0.5) + 1)))


@dataclass(frozen=True)
class Config:
    task: str = "miiii"
    p: int = 113
    d_model: int = 256
    n_heads: int = 4
    depth: int = 1
    dropout: float = 0.1
    lr: float = 3e-4
    weight_decay: float = 1 / 3
    lambda_: float = 0.5
    alpha: float = 0.98
    filter: str = "ema"
    window: int = 100
    epochs: int = 65536
    train_frac: float = 0.5
    seed: int = 0
    split_seed: int = 0
    mask: tuple[int, ...] = ()
    log_linear: int = 100
    log_log: int = 100
    omega_k: float = 2.0
    chunk: int = 256
    ckpt_every: int = 0
    init: str = "fan_in"
    dropout_mask: str = "example"
    readout: str = "eq"
    ema_start: str = "first"
    # Grokking accelerators (docs/accelerators.md); the defaults leave the study's training unchanged.
    optimizer: str = "adamw"  # or "muon": optax.contrib.muon on the hidden matrices, AdamW on W_E, W_pos, W_U
    loss: str = "ce"  # or "stablemax" (Prieto et al. 2025)
    grad_perp: float = 0.0  # ⊥Grad: this share of each gradient's component along its weight removed
    warmup: int = 0  # epochs of linear learning-rate warm-up
    lr_decay: float = 0.0  # share of the lr that decays along a cosine to 0 at the last epoch
    init_scale: float = 1.0  # every initial weight multiplied by this
    q_power: float = 0.0  # sub-task q's loss weight ∝ q ** q_power
    delay: tuple[int, ...] = ()  # sub-tasks kept out of the loss for the first delay_epochs epochs
    delay_epochs: int = 0
    # filter=ema3 (docs/accelerators.md): the middle band's EMA and its gain
    alpha_mid: float = 0.9
    lambda_mid: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    # ---- external names -------------------------------------------------------------
    @staticmethod
    def external(name: str) -> str:
        return "lambda" if name == "lambda_" else name

    @staticmethod
    def internal(name: str) -> str:
        return "lambda_" if name == "lambda" else name

    @classmethod
    def names(cls) -> list[str]:
        return [cls.external(f.name) for f in dataclasses.fields(cls)]

    @classmethod
    def make(cls, **kwargs: Any) -> Config:
        """Build from external names (``lambda`` allowed), validating everything."""
        return cls().replace(**kwargs)

    def replace(self, **kwargs: Any) -> Config:
        fields = {f.name: f for f in dataclasses.fields(self)}
        out = {}
        for key, value in kwargs.items():
            name = self.internal(key)
            if name not in fields:
                raise ConfigError(f"unknown parameter {key!r}; known: {', '.join(self.names())}")
            out[name] = _coerce(key, value, fields[name].type)
        return dataclasses.replace(self, **out)

    def to_dict(self) -> dict[str, Any]:
        return {self.external(k): (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls.make(**d)

    # ---- derived -------------------------------------------------------------------
    @property
    def primes(self) -> tuple[int, ...]:
        return primes_below(self.p)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def d_mlp(self) -> int:
        return 4 * self.d_model

    def validate(self) -> Config:
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise ConfigError(f"{name}: expected {expected}, got {getattr(self, self.internal(name))!r}")

        need(self.task in TASKS, "task", f"one of {', '.join(TASKS)}")
        need(self.p >= 3, "p", "an integer >= 3")
        need(self.d_model >= 1, "d_model", "a positive integer")
        need(self.n_heads >= 1, "n_heads", "a positive integer")
        need(self.d_model % self.n_heads == 0, "d_model", f"a multiple of n_heads={self.n_heads}")
        need(self.depth >= 1, "depth", "a positive integer")
        need(0 <= self.dropout < 1, "dropout", "a number in [0, 1)")
        need(self.lr > 0, "lr", "a positive number")
        need(self.weight_decay >= 0, "weight_decay", "a number >= 0")
        need(self.lambda_ >= 0, "lambda", "a number >= 0")
        need(0 <= self.alpha < 1, "alpha", "a number in [0, 1)")
        need(self.filter in FILTERS, "filter", f"one of {', '.join(FILTERS)}")
        need(self.window >= 1, "window", "a positive integer")
        need(0 <= self.alpha_mid < 1, "alpha_mid", "a number in [0, 1)")
        need(self.filter != "ema3" or self.alpha_mid < self.alpha, "alpha_mid",
             f"a number below alpha ({self.alpha}): the middle band's EMA forgets faster than the slow one")
        need(math.isfinite(self.lambda_mid), "lambda_mid", "a finite number")
        need(self.epochs >= 1, "epochs", "a positive integer")
        need(0 < self.train_frac < 1, "train_frac", "a number in (0, 1)")
        need(self.seed >= 0, "seed", "an integer >= 0")
        need(self.split_seed >= 0, "split_seed", "an integer >= 0")
        bad = [q for q in self.mask if q not in self.primes]
        need(not bad, "mask", f"primes below p={self.p} (not {bad})")
        if self.task != "nanda":
            need(len(self.loss_mask) < len(self.primes), "mask",
                 "to leave at least one sub-task in the loss")
        need(self.log_linear >= 0 and self.log_log >= 0, "log_linear", "counts >= 0")
        need(self.omega_k > 0, "omega_k", "a positive number")
        need(self.chunk >= 1, "chunk", "a positive integer")
        for name, options in CHOICES.items():
            need(getattr(self, name) in options, name, f"one of {', '.join(options)}")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {', '.join(OPTIMIZERS)}")
        need(self.loss in LOSSES, "loss", f"one of {', '.join(LOSSES)}")
        need(0 <= self.grad_perp <= 1, "grad_perp", "a number in [0, 1]")
        need(self.warmup >= 0, "warmup", "an integer >= 0")
        need(0 <= self.lr_decay <= 1, "lr_decay", "a number in [0, 1]")
        need(self.init_scale > 0, "init_scale", "a positive number")
        need(math.isfinite(self.q_power), "q_power", "a finite number")
        need(self.delay_epochs >= 0, "delay_epochs", "an integer >= 0")
        late = [q for q in self.delay if q not in self.primes]
        need(not late, "delay", f"primes below p={self.p} (not {late})")
        if self.task != "nanda" and self.delay_epochs:
            need(len(set(self.loss_mask) | set(self.delay)) < len(self.primes), "delay",
                 "to leave at least one sub-task in the loss during the delay")
        need(self.ckpt_every >= 0, "ckpt_every", "an integer >= 0 (0: checkpoints at powers of two only)")
        n = self.p * self.p
        n_train = int(round(self.train_frac * n))
        need(0 < n_train < n, "train_frac", f"a fraction leaving both splits non-empty for p={self.p}")
        if self.task == "nanda":
            need(not self.mask, "mask", "nothing for task=nanda (it has one sub-task)")
        return self

    @property
    def n_train(self) -> int:
        return int(round(self.train_frac * self.p * self.p))

    @property
    def loss_mask(self) -> tuple[int, ...]:
        """Sub-tasks left out of the loss: the user's mask, plus {2,3,5,7} for ``masked``."""
        extra = tuple(q for q in (2, 3, 5, 7) if q < self.p) if self.task == "masked" else ()
        return tuple(sorted(set(self.mask) | set(extra)))


def _coerce(key: str, value: Any, typ: Any) -> Any:
    typ = str(typ)
    try:
        if typ == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        if typ == "float":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                return _parse_number(value)
            return float(value)
        if typ == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
        if typ.startswith("tuple"):
            if isinstance(value, str):
                parts = [v for v in value.replace("+", " ").replace(",", " ").split() if v]
                return tuple(sorted({int(v) for v in parts}))
            return tuple(sorted({int(v) for v in value}))
    except (TypeError, ValueError):
        kind = {"int": "an integer", "float": "a number", "str": "a string"}.get(typ, "a list of integers")
        raise ConfigError(f"{Config.external(key)}: expected {kind}, got {value!r}") from None
    raise AssertionError(typ)


def _parse_number(text: str) -> float:
    """Numbers on the command line may be fractions: ``weight_decay=1/3``."""
    text = text.strip()
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    out = float(text)
    if not math.isfinite(out):
        raise ValueError
    return out


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}

PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: for tests and for trying the pipeline.
    "smoke": dict(p=11, d_model=32, n_heads=2, dropout=0.1, lr=3e-3, weight_decay=1.0,
                  epochs=64, log_linear=8, log_log=8, chunk=32),
    # Minutes on a 2-core CPU, chosen by measurement (docs/results.md, how quick was chosen).
    # Since 2026-12-07 (docs/accelerators.md, the search): AdamW without GrokFast, sub-task loss
    # weights proportional to q, the lr decayed along a cosine: the first setting under which
    # every sub-task grokked at p = 23.
    "quick": dict(p=23, d_model=128, n_heads=4, dropout=0.2, lr=3e-3, weight_decay=1.0, lambda_=0.0,
                  q_power=1.0, lr_decay=1.0, train_frac=0.8, epochs=16384, log_linear=100, log_log=60, chunk=512),
    # The study's Table 1 (docs/study.md, Table 1): the dataclass defaults.
    "paper": dict(),
}
# quick's model and budget; ``miiii reproduce --preset long`` trains the study's whole run set at it
# (pipelines.reproduce.SEEDS): the claims about lambda = 0, dropout 0 and masking, which do not fit
# in quick's 20 minutes on a 2-core CPU.
PRESETS["long"] = dict(PRESETS["quick"])
# The study's size on a CPU: p = 113 (29 sub-tasks) at d = 128, quick's recipe; one run on 2 cores
# in about 40 minutes (docs/accelerators.md). ``paper`` stays Table 1, for a GPU.
PRESETS["p113"] = dict(PRESETS["quick"], p=113, train_frac=0.5, epochs=20480)


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"--preset: expected one of {', '.join(PRESETS)}, got {name!r}")
    return Config.make(**PRESETS[name])


@dataclass(frozen=True)
class Grid:
    """A base config and the per-run values of the varying parameters (a full product).

    ``Grid.of_runs`` builds the other kind: an explicit list of runs (``rows``), not a
    product, e.g. K unrelated sweep trials that share shapes trained as one multi-run.
    """

    base: Config
    axes: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    rows: tuple[tuple[tuple[str, Any], ...], ...] | None = None  # explicit runs: (key, value) pairs

    @classmethod
    def of_runs(cls, runs: list[Config]) -> Grid:
        """The runs as given (order kept, repeats allowed); they may differ only in ``VARYING``."""
        if not runs:
            raise ConfigError("a multi-run needs at least one run")
        dicts = [r.to_dict() for r in runs]
        differ = [k for k in Config.names() if any(d[k] != dicts[0][k] for d in dicts)]
        # miiii, basis and masked share every shape (only targets and loss mask differ)
        same_shape = all(d["task"] in SAME_SHAPE_TASKS for d in dicts)
        bad = [k for k in differ if k not in VARYING and not (k == "task" and same_shape)]
        if bad:
            raise ConfigError(f"runs of one multi-run must share {', '.join(bad)} (only "
                              f"{', '.join(VARYING)} may differ)")
        keys = [k for k in ("task",) + VARYING if k in differ]
        rows = tuple(tuple((k, getattr(r, Config.internal(k))) for k in keys) for r in runs)
        axes = {k: tuple(dict.fromkeys(dict(row)[k] for row in rows)) for k in keys}
        return cls(runs[0], axes, rows)

    @property
    def runs(self) -> list[Config]:
        if self.rows is not None:
            return [self.base.replace(**dict(row)) for row in self.rows]
        if not self.axes:
            return [self.base]
        keys = list(self.axes)
        return [self.base.replace(**dict(zip(keys, combo)))
                for combo in itertools.product(*(self.axes[k] for k in keys))]

    @property
    def varying(self) -> list[str]:
        return list(self.axes)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "base": self.base.to_dict(),
            "varying": self.varying,
            "runs": [{k: r.to_dict()[k] for k in self.varying} for r in self.runs],
        }
        if self.rows is not None:
            out["explicit"] = True  # the runs are the list itself, not the product of their values
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grid:
        base = Config.from_dict(d["base"])
        if d.get("explicit"):
            return cls.of_runs([base.replace(**run) for run in d["runs"]]) if d["runs"] else cls(base)
        axes: dict[str, list[Any]] = {k: [] for k in d.get("varying", [])}
        for run in d.get("runs", []):
            for k in axes:
                v = tuple(run[k]) if isinstance(run[k], list) else run[k]
                if v not in axes[k]:
                    axes[k].append(v)
        return cls(base, {k: tuple(v) for k, v in axes.items()})


def parse_items(items: list[str]) -> dict[str, list[Any]]:
    """The one ``key=value`` parser (training grids and sweep spaces): key -> its values.

    ``key=a,b`` lists values; ``mask`` and ``delay`` are sets of primes, so a list of them is
    written with ``;`` (``mask=2,3`` is one mask, ``mask=2,3;5;none`` three) and ``none`` or
    nothing is the empty set. Unknown keys are rejected; a later word for a key replaces an earlier one.
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{item!r}: expected key=value or key=a,b,...")
        key, value = (s.strip() for s in item.split("=", 1))
        if Config.internal(key) not in _FIELDS:
            raise ConfigError(f"unknown parameter {key!r}; known: {', '.join(Config.names())}")
        if key in SET_KEYS:
            values: list[Any] = [() if v.strip() in ("", "none") else v.strip() for v in value.split(";")]
        else:
            values = [v.strip() for v in value.split(",")]
            if any(not v for v in values):
                raise ConfigError(f"{key}: empty value in {value!r} (expected key=value or key=a,b,...)")
        out.pop(key, None)
        out[key] = values
    return out


def coerce(key: str, value: Any) -> Any:
    """``value`` as the type of parameter ``key`` (not yet validated against the others)."""
    return _coerce(key, value, _FIELDS[Config.internal(key)].type)


def parse_overrides(base: Config, items: list[str]) -> Grid:
    """A grid from ``key=value`` words (``parse_items``); a list (varying keys only) is an axis."""
    single: dict[str, Any] = {}
    axes: dict[str, tuple[Any, ...]] = {}
    for key, values in parse_items(items).items():
        if len(values) == 1:
            single[key] = values[0]
        elif key not in VARYING:
            raise ConfigError(f"{key}: one value expected (only {', '.join(VARYING)} may take a list), "
                              f"got {values!r}")
        else:
            axes[key] = tuple(values)
    cfg = base.replace(**single)
    # Coerce and validate every listed value through a real Config.
    typed = {k: tuple(getattr(cfg.replace(**{k: v}), Config.internal(k)) for v in vs) for k, vs in axes.items()}
    for k, vs in typed.items():
        if len(set(vs)) != len(vs):
            raise ConfigError(f"{k}: list has repeated values {list(vs)}")
    return Grid(cfg, typed)
