import subprocess
import sys

import pytest

from miiii.config import Config

CLI = [sys.executable, "-m", "miiii.cli"]


def run(*args, cwd=None):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=cwd)


def test_help_lists_every_parameter_with_its_default():
    out = run("train", "--help").stdout
    for name in Config.names():
        assert f"  {name} " in out, name
    assert "default 113" in out and "--quiet" in out and "--preset" in out
    top = run("--help").stdout
    assert "train" in top


@pytest.mark.parametrize("args, param", [
    (["bogus=1"], "bogus"), (["p=two"], "p"), (["p=2"], "p"), (["train_frac=1"], "train_frac"),
    (["p=11", "mask=9"], "mask"), (["lambda=-0.5"], "lambda"), (["alpha=1.0"], "alpha"),
    (["d_model=100", "n_heads=3"], "d_model"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, param):
    out = tmp_path / "run"
    r = run("train", "--preset", "smoke", "--quiet", "--out", str(out), *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("miiii: error:") and param in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_out_holding_a_different_run_is_refused(tmp_path):
    out = tmp_path / "run"
    r = run("train", "--preset", "smoke", "--quiet", "--out", str(out), "epochs=4")
    assert r.returncode == 0, r.stderr
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*"))
    r = run("train", "--preset", "smoke", "--quiet", "--out", str(out), "epochs=8")
    assert r.returncode == 2 and "--out" in r.stderr and "different run" in r.stderr
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*")) == before
    # --resume on a complete run reports it and changes nothing
    r = run("train", "--resume", str(out), "--quiet")
    assert r.returncode == 0 and "run 0" in r.stdout


@pytest.mark.parametrize("args, param", [(["lambda=0"], "lambda"), (["seed=1,2"], "seed"), (["init=bad"], "init"),
                                         (["bogus=1"], "bogus")])
def test_reproduce_overrides_refuse_role_keys_and_bad_values(tmp_path, one_line_error, args, param):
    """reproduce's key=value change every run; the roles' own keys and bad values are one-line errors."""
    out = tmp_path / "repro"
    one_line_error(run("reproduce", "--preset", "smoke", "--out", str(out), *args), param)
    assert not out.exists()


def test_compilation_cache_defaults_to_the_users_cache_folder_and_can_be_turned_off(tmp_path, monkeypatch):
    import jax

    from miiii.cli import compilation_cache

    keys = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs", "jax_compilation_cache_max_size")
    before = {k: getattr(jax.config, k) for k in keys}
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
        monkeypatch.setenv("MIIII_COMPILATION_CACHE", "0")
        assert compilation_cache() is None and jax.config.jax_compilation_cache_dir == before[
            "jax_compilation_cache_dir"]
        monkeypatch.delenv("MIIII_COMPILATION_CACHE")
        assert compilation_cache() == str(tmp_path / "miiii" / "xla")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "miiii" / "xla")
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
        assert compilation_cache() == str(tmp_path / "mine")  # JAX reads its own variable
    finally:
        for k, v in before.items():
            jax.config.update(k, v)
