import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file

from miiii.config import parse_overrides, preset
from miiii.runner import train_run


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "smoke"
    grid = parse_overrides(preset("smoke"), ["seed=0,1"])
    return out, train_run(grid, str(out))


def test_smoke_run_writes_a_complete_directory(smoke_run):
    out, summary = smoke_run
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.parquet", "grad_norms.parquet", "omega.parquet", "summary.json",
            "checkpoints"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    s = json.loads((out / "summary.json").read_text())
    assert s["complete"] is True and s["epochs"] == 64 and s["subtasks"] == [2, 3, 5, 7]
    assert len(s["runs"]) == 2
    for r in s["runs"]:
        assert len(r["final_valid_acc"]) == len(r["grok_epoch"]) == 4
        assert r["seconds"] > 0
    assert s["runs"][1]["config"]["seed"] == 1


def test_metrics_are_long_tables_read_in_one_line(smoke_run):
    out, _ = smoke_run
    m = pd.read_parquet(out / "metrics.parquet")
    assert list(m.columns) == ["run", "epoch", "split", "subtask", "loss", "accuracy"]
    assert set(m.split) == {"train", "valid"} and set(m.run) == {0, 1}
    assert m.epoch.min() == 0 and m.epoch.max() == 64
    g = pd.read_parquet(out / "grad_norms.parquet")
    assert "blocks.0.mlp.W_in" in set(g.matrix) and (g.norm > 0).all()
    w = pd.read_parquet(out / "omega.parquet")
    assert list(w.columns) == ["run", "epoch", "frequency", "neurons"]


def test_checkpoints_powers_of_two_and_final_with_lens_names(smoke_run):
    out, _ = smoke_run
    ck = out / "checkpoints"
    epochs = sorted(int(p.stem.split("_")[1]) for p in ck.glob("params_*.safetensors"))
    assert epochs == [0, 1, 2, 4, 8, 16, 32, 64]
    final = load_file(ck / "final.safetensors")
    assert final["W_E"].shape == (2, 12, 32) and final["W_pos"].shape == (2, 3, 32)
    assert {"blocks.0.attn.W_Q", "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "W_U"} <= set(final)
    last = load_file(ck / "params_000064.safetensors")
    np.testing.assert_array_equal(last["W_U"], final["W_U"])


def test_rerun_of_a_complete_run_is_a_no_op(smoke_run):
    out, summary = smoke_run
    before = (out / "summary.json").stat().st_mtime_ns
    again = train_run(parse_overrides(preset("smoke"), ["seed=0,1"]), str(out))
    assert again == summary and (out / "summary.json").stat().st_mtime_ns == before


def _train_cmd(out: Path, epochs: int) -> list[str]:
    return [sys.executable, "-m", "miiii.cli", "train", "--preset", "smoke", "--quiet", "--out", str(out),
            f"epochs={epochs}", "chunk=16", "seed=0,1"]


@pytest.mark.slow
def test_sigkill_and_resume_is_bit_identical(tmp_path):
    epochs = 1500
    ref = tmp_path / "ref"
    subprocess.run(_train_cmd(ref, epochs), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(killed, epochs), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while not (killed / "checkpoints" / "params_000256.safetensors").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists(), "killed too late: the run had finished"
    state_epoch = json.loads(
        json.loads(_header(killed / "checkpoints" / "state.safetensors"))["__metadata__"]["json"])["epoch"]
    assert state_epoch < epochs

    subprocess.run(_train_cmd(killed, epochs), check=True, capture_output=True)
    a, b = load_file(ref / "checkpoints" / "final.safetensors"), load_file(killed / "checkpoints" / "final.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    ma, mb = pd.read_parquet(ref / "metrics.parquet"), pd.read_parquet(killed / "metrics.parquet")
    pd.testing.assert_frame_equal(ma, mb)


def _header(path: Path) -> str:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return raw[8:8 + n].decode()


def test_a_diverging_run_is_flagged_and_leaves_the_others_alone(tmp_path):
    """lr = 1e6 turns one run's loss non-finite; the lr = 1e-3 run equals the same run alone."""
    both = train_run(parse_overrides(preset("smoke"), ["lr=1e-3,1e6", "epochs=32"]), str(tmp_path / "grid"))
    alone = train_run(parse_overrides(preset("smoke"), ["lr=1e-3", "epochs=32"]), str(tmp_path / "alone"))
    ok, bad = both["runs"]
    assert ok["diverged_epoch"] is None and bad["diverged_epoch"] is not None
    assert alone["runs"][0]["diverged_epoch"] is None
    np.testing.assert_allclose(ok["final_valid_acc"], alone["runs"][0]["final_valid_acc"], atol=1e-6)
    np.testing.assert_allclose(ok["final_valid_loss"], alone["runs"][0]["final_valid_loss"], rtol=1e-5)
    json.loads((tmp_path / "grid" / "summary.json").read_text())  # strict JSON despite the NaNs
    r = subprocess.run([sys.executable, "-m", "miiii.cli", "analyze", str(tmp_path / "grid"), "--no-figures"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "DIVERGED" in r.stdout
    doc = json.loads((tmp_path / "grid" / "analysis" / "analysis.json").read_text())
    assert doc["runs"][1]["diverged_epoch"] == bad["diverged_epoch"] and "fourier" not in doc["runs"][1]


def test_a_deadline_stops_at_a_chunk_boundary_and_resumes(tmp_path, smoke_run):
    grid = parse_overrides(preset("smoke"), ["seed=0,1"])
    part = train_run(grid, str(tmp_path / "r"), deadline=time.monotonic())  # already past
    assert part["complete"] is False and part["epochs_reached"] == 1  # the first chunk ends at epoch 1
    assert not (tmp_path / "r" / "summary.json").exists()
    done = train_run(grid, str(tmp_path / "r"))
    assert done["complete"] and (tmp_path / "r" / "checkpoints" / "final.safetensors").read_bytes() == \
        (smoke_run[0] / "checkpoints" / "final.safetensors").read_bytes()
