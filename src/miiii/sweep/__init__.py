"""Hyper-parameter sweeps on Optuna, K trials per vmapped multi-run (``docs/sweep.md``).

``space`` (what is searched, the objective), ``storage`` (SQLite/PostgreSQL studies and the one
adapter for Optuna internals), ``worker`` (ask, train, tell), ``report`` (one HTML page).
Optuna and plotly are imported by this package only: training and analysis never need them.
"""

from .report import write_report
from .space import DEFAULT_SPACE, Space, objective, parse_space, shape_of
from .storage import DEFAULT_STORAGE, open_storage, open_study, redact
from .worker import run_worker

__all__ = ["DEFAULT_SPACE", "DEFAULT_STORAGE", "Space", "objective", "open_storage", "open_study",
           "parse_space", "redact", "run_worker", "shape_of", "write_report"]
