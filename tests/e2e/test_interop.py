"""miiii.interop: a run directory's model in TransformerLens, checked against miiii's own forward.

On all p^2 inputs, for a trained smoke multi-run (both runs) and a depth-2 run: logits within
1e-5, the named activations equal, and sub-task accuracies equal to summary.json's. Then
``miiii export-tl`` round trips, and bad input is one line with exit status 2.
"""

import json
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from miiii import model, tasks
from miiii.analysis.activations import run_with_cache
from miiii.config import ConfigError, parse_overrides, preset
from miiii.runner import train_run
from miiii.store import RunDir

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "miiii.cli"]
TOL = 1e-5


def _tl():
    """torch and miiii.interop's TransformerLens side, or a skip that says how to install them."""
    pytest.importorskip("torch", reason='torch not installed: pip install -e ".[tl]" (docs/transformerlens.md)')
    pytest.importorskip("transformer_lens", reason='transformer-lens not installed: pip install -e ".[tl]"')
    import torch

    return torch


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two trained runs (seeds 0 and 1) of depth 1, and one of depth 2."""
    root = tmp_path_factory.mktemp("interop")
    out = {"smoke": root / "smoke", "depth2": root / "depth2"}
    train_run(parse_overrides(preset("smoke"), ["epochs=16", "seed=0,1"]), str(out["smoke"]))
    train_run(parse_overrides(preset("smoke"), ["epochs=16", "depth=2"]), str(out["depth2"]))
    return out


def _miiii_side(run_dir, run, epoch=None):
    rd = RunDir(run_dir)
    stacked, _ = rd.load_params(epoch)
    params = {k: v[run] for k, v in stacked.items()}
    cfg = rd.grid().runs[run]
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    plain = np.asarray(jax.jit(jax.vmap(lambda xi: model.forward(jp, xi)[0]))(jnp.asarray(tasks.inputs(cfg.p))))
    logits, cache = run_with_cache(params, cfg.p)
    assert np.array_equal(plain, logits) or np.abs(plain - logits).max() < 1e-6  # cache on or off
    return cfg, logits, cache


def _tl_side(tl_model, cfg, torch):
    from miiii.interop import tl_cache_as_miiii

    with torch.no_grad():
        logits, cache = tl_model.run_with_cache(torch.as_tensor(tasks.inputs(cfg.p), dtype=torch.long))
    return logits[:, -1].numpy(), tl_cache_as_miiii(cache, tl_model.cfg.n_layers)


@pytest.mark.parametrize("name, run", [("smoke", 0), ("smoke", 1), ("depth2", 0)])
def test_logits_and_activations_equal_miiii(runs, name, run):
    torch = _tl()
    from miiii.interop import hooked_transformer

    cfg, logits, cache = _miiii_side(runs[name], run)
    tl_model = hooked_transformer(runs[name], run=run)
    assert tl_model.cfg.d_vocab == cfg.p + 1 and tl_model.cfg.n_ctx == 3
    assert tl_model.cfg.n_layers == cfg.depth and tl_model.cfg.normalization_type is None
    tl_logits, tl_cache = _tl_side(tl_model, cfg, torch)

    diff = np.abs(tl_logits - logits).max()
    print(f"{name} run {run}: max |logit difference| {diff:.3g} over {cfg.p**2} inputs")
    assert tl_logits.shape == logits.shape == (cfg.p**2, tasks.task_of(cfg).n_out)
    assert diff <= TOL, diff

    last = f"blocks.{cfg.depth - 1}."
    assert {last + "mlp.hook_post", last + "attn.hook_pattern", "hook_embed"} <= set(cache)
    missing = sorted(set(cache) - set(tl_cache))
    assert not missing, f"miiii's hook names absent from TransformerLens: {missing}"
    for hook, act in cache.items():
        assert tl_cache[hook].shape == act.shape, (hook, tl_cache[hook].shape, act.shape)
        np.testing.assert_allclose(tl_cache[hook], act, rtol=TOL, atol=TOL, err_msg=hook)


@pytest.mark.parametrize("name", ["smoke", "depth2"])
def test_subtask_accuracies_from_transformerlens_equal_the_summary(runs, name):
    torch = _tl()
    from miiii.interop import hooked_transformer, subtask_slices

    rd = RunDir(runs[name])
    summary = rd.require_complete()
    for run, cfg in enumerate(rd.grid().runs):
        tl_logits, _ = _tl_side(hooked_transformer(runs[name], run=run), cfg, torch)
        y = tasks.targets(cfg)
        slices = subtask_slices(runs[name], run)
        assert list(slices) == summary["subtasks"]
        correct = np.stack([tl_logits[:, s].argmax(-1) == y[:, k] for k, s in enumerate(slices.values())], axis=1)
        train_idx, valid_idx = tasks.split(cfg)
        got_train, got_valid = correct[train_idx].mean(0), correct[valid_idx].mean(0)
        np.testing.assert_allclose(got_train, summary["runs"][run]["final_train_acc"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(got_valid, summary["runs"][run]["final_valid_acc"], rtol=0, atol=1e-6)


def test_subtask_slices_are_contiguous_blocks_of_w_u(runs):
    from miiii.interop import subtask_slices

    slices = subtask_slices(runs["smoke"])
    assert list(slices) == [2, 3, 5, 7]  # the primes below p = 11
    assert [s.stop - s.start for s in slices.values()] == [2, 3, 5, 7]
    stops = [0] + [s.stop for s in slices.values()]
    assert [s.start for s in slices.values()] == stops[:-1]
    assert stops[-1] == RunDir(runs["smoke"]).load_params()[0]["W_U"].shape[-1]


def _miiii(*args, prelude=""):
    code = f"import sys; {prelude}from miiii.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_export_round_trips(runs, tmp_path):
    torch = _tl()
    from miiii.interop import hooked_transformer, load_export

    out = tmp_path / "tl" / "smoke-run1.safetensors"
    r = _miiii("export-tl", runs["smoke"], "--run", 1, "--epoch", 8, "--out", out)
    assert r.returncode == 0, r.stderr
    header = json.loads(out.with_suffix(".json").read_text())
    assert header["miiii"]["run"] == 1 and header["miiii"]["epoch"] == 8
    assert header["miiii"]["subtasks"] == {"2": [0, 2], "3": [2, 5], "5": [5, 10], "7": [10, 17]}
    assert header["config"]["d_vocab"] == 12 and header["config"]["d_vocab_out"] == 17

    # By hand, as docs/transformerlens.md says, with no miiii code: a strict load.
    import safetensors.torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    with warnings.catch_warnings():  # 3.x's note that 4.0 replaces HookedTransformer
        warnings.simplefilter("ignore", DeprecationWarning)
        by_hand = HookedTransformer(HookedTransformerConfig(**header["config"]))
    by_hand.load_state_dict(safetensors.torch.load_file(str(out)))

    x = torch.as_tensor(tasks.inputs(11), dtype=torch.long)
    with torch.no_grad():
        want = hooked_transformer(runs["smoke"], run=1, epoch=8)(x)
        assert torch.equal(load_export(out)(x), want)
        assert torch.equal(by_hand(x), want)
        assert not torch.equal(hooked_transformer(runs["smoke"], run=0, epoch=8)(x), want)



def test_bad_input_is_one_line_and_exit_2(runs, tmp_path, one_line_error):
    run, out = runs["smoke"], tmp_path / "m.safetensors"
    one_line_error(_miiii("export-tl", run, "--epoch", 3, "--out", out),
                    "no checkpoint at epoch 3", "[0, 1, 2, 4, 8, 16]")
    one_line_error(_miiii("export-tl", run, "--run", 2, "--out", out), "--run", "out of range", "2 run(s)")
    one_line_error(_miiii("export-tl", run, "--epoch", -1, "--out", out), "--epoch")
    one_line_error(_miiii("export-tl", run, "--out", tmp_path / "m.pt"), "--out", ".safetensors")
    one_line_error(_miiii("export-tl", tmp_path / "nothing", "--out", out), "no miiii run")
    # Without the extra (TransformerLens made unimportable in the child): how to install it.
    no_tl = "sys.modules['transformer_lens'] = None; "
    one_line_error(_miiii("export-tl", run, "--out", out, prelude=no_tl), 'pip install -e ".[tl]"')
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_python_api_raises_config_errors(runs):
    from miiii import interop

    with pytest.raises(ConfigError, match="no checkpoint at epoch 3"):
        interop.describe(runs["smoke"], epoch=3)
    with pytest.raises(ConfigError, match="out of range"):
        interop.subtask_slices(runs["depth2"], run=1)
    with pytest.raises(ConfigError, match="out of range"):
        interop.hooked_transformer(runs["smoke"], run=-1)
