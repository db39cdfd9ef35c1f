"""A run directory's model in TransformerLens (docs/transformerlens.md).

``hooked_transformer(RUN)`` builds a TransformerLens ``HookedTransformer`` with miiii's
architecture and one run's weights, so the field's tools (hooks, ``run_with_cache``,
activation patching) work on it unchanged::

    from miiii.interop import hooked_transformer, subtask_slices
    model = hooked_transformer("runs/quick")                  # run 0, final epoch
    logits = model(torch.tensor(miiii.tasks.inputs(p)))[:, -1]  # read at "=", the last token
    logits[:, subtask_slices("runs/quick")[5]]                 # sub-task q = 5's classes

The mapping, checked on all p^2 inputs by tests/e2e/test_interop.py (logits within 1e-5):

* tokens ``x0, x1, =`` with ``=`` = p, so ``d_vocab = p + 1`` and ``n_ctx = 3``;
  ``d_vocab_out`` = Σ classes, each sub-task a contiguous block of W_U (``subtask_slices``);
* no LayerNorm (``normalization_type=None``), ReLU MLP (``d_mlp = 4 d_model``), standard
  learned positions, attention scaled by 1/sqrt(d_head) and causal (miiii's earlier blocks
  are causal; its last block computes only the ``=`` query, which sees every key anyway);
* no biases: TransformerLens's are zero-filled; dropout is a training-time thing in miiii
  and TransformerLens has none.

TransformerLens computes every position in the last block, where miiii computes only ``=``;
``tl_cache_as_miiii`` keeps the ``=`` position there, giving miiii's cache layout
(``miiii.analysis.activations.run_with_cache``).

TransformerLens (3.x, where ``HookedTransformer`` lives) and torch are the optional extra
``tl``: ``pip install -e ".[tl]"``. They are imported only inside the functions that need
them, and their absence is a one-line ``ConfigError``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, ConfigError
from .model import depth_of
from .store import RunDir, atomic_write
from .tasks import Task, task_of

INSTALL_HINT = 'TransformerLens is not installed: pip install -e ".[tl]" (docs/transformerlens.md)'
_TOP = {"W_E": "embed.W_E", "W_pos": "pos_embed.W_pos", "W_U": "unembed.W_U"}
# Last-block hooks that read every position (keys, values and the block's input), not the query.
_EVERY_POSITION = {"hook_resid_pre", "hook_k_input", "hook_v_input", "attn.hook_k", "attn.hook_v"}


# ---- the run directory side (NumPy only) ------------------------------------------------
def _run_config(rd: RunDir, run: int) -> Config:
    if not rd.config_path.exists():
        raise ConfigError(f"{rd.path}: holds no miiii run (no config.json)")
    runs = rd.grid().runs
    if not 0 <= run < len(runs):
        raise ConfigError(f"--run: index {run} out of range; {rd.path} holds {len(runs)} run(s) (0..{len(runs) - 1})")
    return runs[run]


def _params(rd: RunDir, run: int, epoch: int | None) -> tuple[dict[str, np.ndarray], int]:
    if epoch is not None and epoch < 0:
        raise ConfigError(f"--epoch: expected a non-negative epoch, got {epoch}")
    if epoch is None and not rd.final_path.exists():
        rd.require_checkpoints()  # a finished record without checkpoints: its own message
        raise ConfigError(f"{rd.path}: no final checkpoint (train or resume the run first, or choose "
                          f"--epoch from {rd.param_epochs()})")
    stacked, ep = rd.load_params(epoch)
    return {k: np.asarray(v[run], np.float32) for k, v in stacked.items()}, ep


def _slices(task: Task) -> dict[int, slice]:
    return {int(q): slice(off, off + n) for q, off, n in zip(task.subtasks, task.offsets, task.n_classes)}


def subtask_slices(run_dir: str | Path, run: int = 0) -> dict[int, slice]:
    """W_U's columns (and the logits') of each sub-task: {q: slice}, in the task's order."""
    return _slices(task_of(_run_config(RunDir(run_dir), run)))


def tl_config_dict(cfg: Config, depth: int | None = None) -> dict[str, Any]:
    """The ``HookedTransformerConfig`` keyword arguments of a miiii model (JSON-ready)."""
    task = task_of(cfg)
    return {
        "n_layers": cfg.depth if depth is None else depth,
        "d_model": cfg.d_model,
        "n_ctx": 3,
        "d_head": cfg.d_head,
        "n_heads": cfg.n_heads,
        "d_mlp": cfg.d_mlp,
        "d_vocab": cfg.p + 1,
        "d_vocab_out": task.n_out,
        "act_fn": "relu",
        "normalization_type": None,
        "positional_embedding_type": "standard",
        "attention_dir": "causal",
        "use_attn_scale": True,
        "attn_scale": float(np.sqrt(cfg.d_head)),
        "default_prepend_bos": False,
        "init_weights": False,  # every weight comes from the checkpoint
        "device": "cpu",  # float32, TransformerLens's default dtype, as miiii's
    }


def tl_weights(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """miiii's parameters of one run under TransformerLens state-dict names, zero biases added."""
    out: dict[str, np.ndarray] = {}
    for name, w in params.items():
        out[_TOP.get(name, name)] = np.ascontiguousarray(w, np.float32)
    for layer in range(depth_of(params)):
        b = f"blocks.{layer}."
        h, _, e = params[b + "attn.W_Q"].shape
        d_model, d_mlp = params[b + "mlp.W_in"].shape
        out |= {b + f"attn.b_{m}": np.zeros((h, e), np.float32) for m in "QKV"}
        out |= {b + "attn.b_O": np.zeros(d_model, np.float32), b + "mlp.b_in": np.zeros(d_mlp, np.float32),
                b + "mlp.b_out": np.zeros(d_model, np.float32)}
    out["unembed.b_U"] = np.zeros(params["W_U"].shape[1], np.float32)
    return out


def describe(run_dir: str | Path, run: int = 0,
             epoch: int | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, TL weights) of one run: the header holds the TL config and where it came from."""
    rd = RunDir(run_dir)
    cfg = _run_config(rd, run)
    params, ep = _params(rd, run, epoch)
    task = task_of(cfg)
    header = {
        "config": tl_config_dict(cfg, depth_of(params)),
        "miiii": {"run_dir": str(rd.path), "run": run, "epoch": ep, "task": task.name, "p": cfg.p,
                  "equals_token": cfg.p, "logits_position": -1,
                  "subtasks": {str(q): [s.start, s.stop] for q, s in _slices(task).items()},
                  "run_config": cfg.to_dict()},
    }
    return header, tl_weights(params)


# ---- the TransformerLens side (needs the extra) -----------------------------------------
def _tl():
    try:
        import torch
        import transformer_lens
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return torch, transformer_lens


def build(config: dict[str, Any], weights: dict[str, Any]):
    """A ``HookedTransformer`` from config keyword arguments and a (TL-named) state dict.

    The state dict must hold every parameter (strict): a missing or misnamed weight is an error,
    never a silently random one.
    """
    torch, tl = _tl()
    with warnings.catch_warnings():
        # 3.x marks HookedTransformer deprecated in favour of 4.0's TransformerBridge; the
        # 3.x line is the one pinned here, on purpose (docs/transformerlens.md).
        warnings.filterwarnings("ignore", r".*deprecated and will be removed in 4\.0", DeprecationWarning)
        model = tl.HookedTransformer(tl.HookedTransformerConfig(**config), move_to_device=False)
    state = model.state_dict()
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(weights))
    unknown = sorted(set(weights) - set(state))
    if missing or unknown:
        raise ConfigError(f"weights do not match the TransformerLens model: missing {missing}, unknown {unknown}")
    for name, w in weights.items():
        t = w if isinstance(w, torch.Tensor) else torch.from_numpy(np.array(w))
        if tuple(t.shape) != tuple(state[name].shape):
            raise ConfigError(f"weights do not match the TransformerLens model: {name} is {tuple(t.shape)}, "
                              f"expected {tuple(state[name].shape)}")
        state[name] = t.to(state[name].dtype)
    model.load_state_dict(state, strict=True)
    return model.eval()


def hooked_transformer(run_dir: str | Path, run: int = 0, epoch: int | None = None):
    """Run ``run`` of ``run_dir`` at ``epoch`` (default: final) as a TransformerLens model."""
    header, weights = describe(run_dir, run, epoch)  # the run directory's errors first
    return build(header["config"], weights)


def tl_cache_as_miiii(cache: Any, depth: int) -> dict[str, np.ndarray]:
    """A TransformerLens cache (batch first) in miiii's layout: in the last block, only ``=``.

    miiii's last block computes the one query ``=`` and keeps a size-1 position axis in its
    hooks (``blocks.{L}.attn.hook_pattern`` is (batch, head, 1, key)); earlier blocks and the
    embeddings keep every position, as TransformerLens does.
    """
    out = {}
    last = f"blocks.{depth - 1}."
    for name in list(cache.keys()):
        a = cache[name].detach().cpu().numpy()
        hook = name.removeprefix(last)
        if hook == name or hook in _EVERY_POSITION:
            pass
        elif hook in ("attn.hook_pattern", "attn.hook_attn_scores"):  # (batch, head, query, key)
            a = a[:, :, -1:]
        else:  # (batch, pos, ...)
            a = a[:, -1:]
        out[name] = a
    return out


def export(run_dir: str | Path, out: str | Path, run: int = 0, epoch: int | None = None) -> tuple[Path, Path]:
    """Write ``out`` (.safetensors: the TL state dict) and the same stem .json (config and origin).

    Loaded back with ``load_export(out)``, or by hand::

        cfg = HookedTransformerConfig(**json.load(open("m.json"))["config"])
        model = HookedTransformer(cfg)
        model.load_state_dict(safetensors.torch.load_file("m.safetensors"))
    """
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ConfigError(f"--out: expected a FILE.safetensors (its config goes beside it, as .json), got {out}")
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out: {out} is a directory")
    header, weights = describe(run_dir, run, epoch)  # the run directory's errors first: no torch needed
    _tl()
    from safetensors.torch import save as st_save

    model = build(header["config"], weights)  # the export is exactly what loads
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}  # buffers too: loads strictly
    meta = json.dumps(header, allow_nan=False)
    atomic_write(out, st_save(state, metadata={"json": meta}))
    cfg_path = out.with_suffix(".json")
    atomic_write(cfg_path, (json.dumps(header, indent=2, allow_nan=False) + "\n").encode())
    return out, cfg_path


def load_export(path: str | Path):
    """The ``HookedTransformer`` that ``export`` (``miiii export-tl``) wrote to ``path``."""
    path = Path(path)
    for f in (path, path.with_suffix(".json")):
        if not f.is_file():
            raise ConfigError(f"{f}: no such file (miiii export-tl writes FILE.safetensors and FILE.json)")
    _tl()
    from safetensors.torch import load_file

    header = json.loads(path.with_suffix(".json").read_text())
    return build(header["config"], load_file(str(path)))
