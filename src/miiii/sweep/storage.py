"""Optuna storage and studies, and the one adapter for the Optuna internals the worker needs.

SQLite on one machine, PostgreSQL across machines (``docs/sweep.md``). Optuna exposes
heartbeats for ``study.optimize`` only; a worker that trains K trials in one multi-run beats
for all of them itself, which needs a study's storage and a trial's id. Those private
attributes are read here and nowhere else, so an Optuna upgrade breaks one file.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from typing import Any

from ..config import ConfigError
from .space import Space

DEFAULT_STORAGE = "sqlite:///miiii-sweeps.db"
MAX_RETRY = 3  # retries of one crashed trial before it stays failed


# ---- the adapter: Optuna's private parts ----------------------------------------------
def storage_of(study: Any) -> Any:
    return study._storage


def trial_id(trial: Any) -> int:
    return trial._trial_id


def heartbeat_enabled(storage: Any) -> bool:
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return bool(is_heartbeat_enabled(storage))


def record_heartbeat(storage: Any, trial: Any) -> None:
    storage.record_heartbeat(trial_id(trial))


# ---- storage and study ----------------------------------------------------------------
def redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def open_storage(url: str, heartbeat: float | None = 60.0) -> Any:
    """An Optuna RDBStorage with heartbeats and retries of crashed trials; ConfigError if unusable."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats and retries have been "experimental" since Optuna 2.8; they are what we need.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if "://" not in url:
        raise ConfigError(f"--storage: expected a URL like {DEFAULT_STORAGE} or postgresql://user@host/db, got {url!r}")
    given, url = url, _with_driver(url)
    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}  # several local workers wait for the write lock
    elif url.startswith("postgresql"):
        engine = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    kw: dict[str, Any] = {}
    if heartbeat:
        kw = dict(heartbeat_interval=max(1, round(heartbeat)),
                  heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    for attempt in range(10):
        try:
            return RDBStorage(url, engine_kwargs=engine, **kw)
        except Exception as e:  # sqlalchemy's OperationalError, ArgumentError, a missing driver, ...
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            # Workers starting together on a fresh database race to create Optuna's tables.
            if attempt < 9 and re.search(
                r"already exists|duplicate key|database is locked|UNIQUE constraint failed", msg
            ):
                time.sleep(0.5 + 0.5 * attempt)
                continue
            raise ConfigError(f"--storage: cannot open {redact(given)}: {msg}") from None
    raise AssertionError("unreachable")


def _with_driver(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; use psycopg2 when only it is installed."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def open_study(storage: Any, name: str, space: Space | None = None) -> Any:
    """Create or load study ``name``; a space must match the one the study was created with."""
    import optuna

    if space is None:
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise ConfigError(f"--study: no study {name!r} in this storage") from None
    sampler = optuna.samplers.TPESampler(constant_liar=True)  # parallel asks spread out
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                sampler=sampler, load_if_exists=True)
    want = json.loads(json.dumps(space.to_dict()))
    have = study.user_attrs.get("miiii")
    if have is None:
        study.set_user_attr("miiii", want)
    elif have != want:
        diff = sorted(k for k in set(have["base"]) | set(have["space"]) | set(want["space"])
                      if have["base"].get(k) != want["base"].get(k) or have["space"].get(k) != want["space"].get(k))
        raise ConfigError(f"--study: {name!r} was created with another preset or space (differs in "
                          f"{', '.join(diff)}); pass the same settings or choose another study name")
    return study


