"""The run directory: the one hand-off between training and everything after it.

```
RUN/
  config.json                     base config, varying keys, each run's varying values
  metrics.parquet                 run, epoch, split, subtask, loss, accuracy   (long format)
  grad_norms.parquet              run, epoch, matrix, norm
  omega.parquet                   run, epoch, frequency, neurons (neurons where it is active)
  checkpoints/params_EEEEEE.safetensors   parameters at 0, every power of two and the end
  checkpoints/state.safetensors   newest full training state (params, optimiser, RNG)
  checkpoints/final.safetensors   final parameters, TransformerLens names, leading run axis
  summary.json                    written last: a run without it is incomplete
```

Every file is written to a temporary name in the same directory, flushed, and renamed, so a
reader sees either the old file or the new one. Tensors are safetensors (no pickle: loading
never executes code); small state is JSON or safetensors metadata.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .config import ConfigError, Grid

LOCK = ".lock"  # held while a process trains into the directory (``RunDir.lock``)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def jsonable(x: Any) -> Any:
    """NumPy scalars to Python ones and NaN/inf to None (a diverged run's numbers), so the JSON
    files stay strict."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write(path, buf.getvalue())


def save_tensors(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    arrays = {k: np.ascontiguousarray(np.asarray(v)) for k, v in tensors.items()}
    atomic_write(path, st_save(arrays, metadata={"json": json.dumps(meta)}))


def load_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header.get("__metadata__", {}).get("json", "{}"))
    return st_load(raw), meta


def tree_to_tensors(tree: Any) -> dict[str, np.ndarray]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def tensors_to_tree(tensors: dict[str, np.ndarray], template: Any) -> Any:
    """Fill ``template``'s structure from named tensors, checking names and shapes."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    out = []
    for path, leaf in leaves:
        name = jax.tree_util.keystr(path)
        if name not in tensors or tensors[name].shape != np.shape(leaf):
            raise ConfigError(f"checkpoint does not match this configuration (tensor {name})")
        out.append(tensors[name].astype(np.asarray(leaf).dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    summary_path = property(lambda self: self.path / "summary.json")
    ckpt = property(lambda self: self.path / "checkpoints")
    state_path = property(lambda self: self.ckpt / "state.safetensors")
    final_path = property(lambda self: self.ckpt / "final.safetensors")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for one training process: a second ``miiii train`` (or ``reproduce``)
        on the same ``--out`` gets a one-line error instead of writing over the first. An advisory
        ``flock`` on ``DIR/.lock``: released by the kernel when the process ends, however it ends."""
        self.path.mkdir(parents=True, exist_ok=True)
        f = open(self.path / LOCK, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise ConfigError(f"--out: {self.path} is being trained by another miiii process right now; wait for "
                              "it to finish (re-running then resumes or reuses it) or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    # ---- config --------------------------------------------------------------------
    def check_compatible(self, grid: Grid) -> bool:
        """True when the directory already holds this run; raise if it holds another."""
        if not self.path.exists():
            return False
        if not self.path.is_dir():
            raise ConfigError(f"--out: {self.path} exists and is not a directory")
        if not self.config_path.exists():
            if any(p.name != LOCK for p in self.path.iterdir()):
                raise ConfigError(f"--out: {self.path} is not empty and holds no miiii run")
            return False
        # Read through Grid so a parameter added since the run was written takes its default.
        if Grid.from_dict(self.read_config()).to_dict() != grid.to_dict():
            raise ConfigError(f"--out: {self.path} holds a different run (its config.json differs); "
                              "choose another directory or use --resume on it")
        self.require_checkpoints()
        return True

    def require_checkpoints(self) -> None:
        """A finished run whose checkpoints are gone (a committed record, a pruned copy) cannot
        be reused or analysed; say so instead of failing later inside the analysis."""
        if self.summary() is not None and not self.final_path.exists():
            raise ConfigError(f"{self.path} holds a finished run's record without its checkpoints "
                              f"({self.final_path.relative_to(self.path)} is missing): use another --out "
                              "to train afresh, or delete its summary.json to retrain it in place")

    def read_config(self) -> dict[str, Any]:
        return json.loads(self.config_path.read_text())

    def grid(self) -> Grid:
        return Grid.from_dict(self.read_config())

    def write_config(self, grid: Grid) -> None:
        write_json(self.config_path, grid.to_dict())

    # ---- completion ----------------------------------------------------------------
    def summary(self) -> dict[str, Any] | None:
        if not self.summary_path.exists():
            return None
        s = json.loads(self.summary_path.read_text())
        return s if s.get("complete") else None

    def require_complete(self) -> dict[str, Any]:
        s = self.summary() if self.path.is_dir() else None
        if s is None:
            raise ConfigError(f"{self.path}: not a complete miiii run (no summary.json; train it or resume it)")
        return s

    # ---- checkpoints ---------------------------------------------------------------
    def save_params(self, epoch: int, params: dict[str, Any]) -> None:
        save_tensors(self.ckpt / f"params_{epoch:06d}.safetensors", params, {"epoch": epoch})

    def param_epochs(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.ckpt.glob("params_*.safetensors"))

    def load_params(self, epoch: int | None = None) -> tuple[dict[str, np.ndarray], int]:
        """Parameters (TransformerLens names, leading run axis) at ``epoch`` (default: final)."""
        if epoch is None:
            self.require_checkpoints()
            tensors, meta = load_tensors(self.final_path)
            return tensors, int(meta["epoch"])
        path = self.ckpt / f"params_{epoch:06d}.safetensors"
        if not path.exists():
            raise ConfigError(f"--epoch: no checkpoint at epoch {epoch} in {self.path}; "
                              f"available: {self.param_epochs()}")
        return load_tensors(path)[0], epoch

    def save_final(self, epoch: int, params: dict[str, Any]) -> None:
        save_tensors(self.final_path, params, {"epoch": epoch})

    def save_state(self, state: Any, meta: dict[str, Any]) -> None:
        save_tensors(self.state_path, tree_to_tensors(state), meta)

    def load_state(self, template: Any) -> tuple[Any, dict[str, Any]] | None:
        if not self.state_path.exists():
            return None
        tensors, meta = load_tensors(self.state_path)
        return tensors_to_tree(tensors, template), meta

    # ---- tables --------------------------------------------------------------------
    def write_tables(self, tables: dict[str, pd.DataFrame]) -> None:
        for name, df in tables.items():
            write_parquet(self.path / f"{name}.parquet", df)

    def read_table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path / f"{name}.parquet")
