"""miiii: train, open up and report transformers that grok x0 + p*x1 mod every prime q < p.

The public Python API, re-exported explicitly (the layers, bottom up: config; tasks, model,
optim; measures; train; store, runner; analysis; plots; report; pipelines, sweep; cli)::

    import miiii
    grid = miiii.parse_overrides(miiii.preset("quick"), ["seed=0,1,2"])
    summary = miiii.train_run(grid, "runs/quick")          # a run directory
    doc = miiii.write_analysis("runs/quick")               # analysis.json + figures
    state, logs, setup = miiii.train.train(grid)           # or in memory (module train)
"""

from . import train
from .config import PRESETS, VARYING, Config, ConfigError, Grid, parse_overrides, preset
from .model import forward, init
from .pipelines import analyze_run, reproduce, write_analysis, write_report
from .runner import train_run
from .store import RunDir
from .tasks import Task, task_of

__all__ = [
    "PRESETS", "VARYING", "Config", "ConfigError", "Grid", "parse_overrides", "preset",
    "forward", "init", "train", "train_run", "RunDir", "Task", "task_of",
    "analyze_run", "write_analysis", "write_report", "reproduce",
]
