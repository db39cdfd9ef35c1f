"""The search: a categorical space over Config parameters and the objective of one trial.

Rules (the objective, quota, retries, run directories): ``docs/sweep.md``. Objective
(minimised), from a trial's run summary; only the sub-tasks in the loss count:

* all of them grokked (``summary.json``'s ``grok_epoch``, ``measures.grok``):
  ``T / epochs`` where T is the epoch by which the last one grokked -- in [0, 1];
* otherwise the penalty ``2 - grokked / n_subtasks`` -- in (1, 2];
* plus a tie-break below the smallest step of the terms above: the final mean validation
  loss L squashed to ``L / (1 + L)`` (NaN counts as 1), times ``0.5 / max(epochs, n_subtasks)``.
  So comparisons are lexicographic: grokked sooner, then more sub-tasks grokked, then lower loss.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from ..config import SET_KEYS, VARYING, Config, ConfigError, coerce, parse_items

# The study's search space (docs/study.md, training), external parameter names.
DEFAULT_SPACE: dict[str, tuple[Any, ...]] = {
    "dropout": (0.0, 0.5, 0.2, 0.1),
    "lambda": (0.0, 0.5, 2.0),
    "weight_decay": (0.0, 0.1, 1 / 3, 0.5, 1.0),
    "d_model": (128, 256),
    "lr": (3e-4, 1e-4),
    "n_heads": (4, 8),
}
_CHECK_ALL = 50_000  # validate every combination of the space up to this many


@dataclass(frozen=True)
class Space:
    base: Config  # everything not searched (preset + fixed key=value)
    choices: dict[str, tuple[Any, ...]]  # searched parameter -> typed values

    def distributions(self) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution
        return {k: CategoricalDistribution([_encode(v) for v in vs]) for k, vs in self.choices.items()}

    def config(self, params: dict[str, Any]) -> Config:
        return self.base.replace(**{k: _decode(k, v) for k, v in params.items()})

    @property
    def shape_keys(self) -> list[str]:
        return [k for k in self.choices if k not in VARYING]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base.to_dict(), "space": {k: [_encode(v) for v in vs] for k, vs in self.choices.items()}}


def _encode(v: Any) -> Any:
    """Optuna choices are scalars: a mask (tuple of primes) becomes ``"2,3"`` or ``"none"``."""
    return (",".join(map(str, v)) or "none") if isinstance(v, tuple) else v


def _decode(key: str, v: Any) -> Any:
    return () if key in SET_KEYS and v == "none" else v


def parse_space(base: Config, items: list[str]) -> Space:
    """``key=value`` fixes a parameter, ``key=a,b`` searches it; the rest of DEFAULT_SPACE stays."""
    fixed: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {}
    for key, values in parse_items(items).items():
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            lists[key] = values
    choices = {k: vs for k, vs in DEFAULT_SPACE.items() if k not in fixed and k not in lists}
    for key, values in lists.items():
        typed = tuple(coerce(key, v) for v in values)
        if len(set(typed)) != len(typed):
            raise ConfigError(f"{key}: list has repeated values {list(values)}")
        choices[key] = typed
    # Searched parameters start at their first choice, so the base is one valid point of the space.
    first = {k: vs[0] for k, vs in choices.items()}
    try:
        base = base.replace(**fixed, **first)
    except ConfigError as e:
        raise ConfigError(f"{e} (with the fixed values and the first choice of each searched one: "
                          f"{ {**fixed, **first} })") from None
    space = Space(base, choices)
    _validate(space)
    return space


def _validate(space: Space) -> None:
    """Every combination must make a valid Config (when too many: every value with the base)."""
    n = 1
    for vs in space.choices.values():
        n *= len(vs)
    if n > _CHECK_ALL:
        for k, vs in space.choices.items():
            for v in vs:
                space.base.replace(**{k: v})
    else:
        keys = list(space.choices)
        for combo in itertools.product(*(space.choices[k] for k in keys)):
            try:
                space.base.replace(**dict(zip(keys, combo)))
            except ConfigError as e:
                raise ConfigError(f"the space holds an invalid combination {dict(zip(keys, combo))}: {e}") from None


# ---- objective ----------------------------------------------------------------------
def objective(cfg: Config, summary: dict[str, Any], index: int) -> tuple[float, dict[str, Any]]:
    """The value to minimise for run ``index`` of a multi-run summary, and what it is made of.

    Sub-tasks grokked first, time to grok second (``measures.grok.time_to_grok``, the sub-tasks
    in the loss): every one grokked gives time / epochs in (0, 1]; otherwise 2 - grokked / n, in
    [1, 2). A sliver of the final validation loss breaks ties among runs that grok nothing.
    """
    run, epochs = summary["runs"][index], int(summary["epochs"])
    subtasks = summary["subtasks"]
    judged = [i for i, q in enumerate(subtasks) if q not in cfg.loss_mask] or list(range(len(subtasks)))
    t = run.get("time_to_grok")
    if t is None:  # a summary written before time_to_grok: the same from grok_epoch, without seconds
        groks = [run["grok_epoch"][i] for i in judged]
        done = [g for g in groks if g is not None]
        t = {"epoch": max(done) if len(done) == len(groks) else None, "grokked": len(done), "of": len(groks),
             "seconds": None}
    n, grokked = t["of"], t["grokked"]
    loss = sum(run["final_valid_loss"][i] for i in judged) / len(judged)
    main = t["epoch"] / epochs if t["epoch"] is not None else 2.0 - grokked / n
    finite = math.isfinite(loss) and loss >= 0
    squashed = loss / (1.0 + loss) if finite else 1.0
    value = main + squashed * 0.5 / max(epochs, n)
    attrs = {"grokked": grokked, "judged_subtasks": n, "all_grokked_epoch": t["epoch"],
             "time_to_grok_seconds": t.get("seconds"),
             "final_valid_loss": loss if finite else None,
             "final_valid_acc": sum(run["final_valid_acc"][i] for i in judged) / len(judged)}
    return value, attrs


def shape_of(cfg: Config) -> tuple:
    """What must be equal for configs to train in one multi-run: every non-VARYING parameter."""
    d = cfg.to_dict()
    return tuple((k, json.dumps(d[k])) for k in Config.names() if k not in VARYING)
