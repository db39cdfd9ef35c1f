"""The GPU image has no optuna and no plotly: train, analyze and reproduce must not need them."""

import subprocess
import sys

import pytest

BLOCK = "import sys; sys.modules['optuna'] = None; sys.modules['plotly'] = None; from miiii.cli import main; "

pytestmark = pytest.mark.slow


def _main(*argv: str) -> subprocess.CompletedProcess:
    code = BLOCK + f"sys.exit(main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


def test_train_analyze_and_reproduce_run_without_optuna_and_plotly(tmp_path):
    run = tmp_path / "run"
    r = _main("train", "--preset", "smoke", "--quiet", "epochs=8", "--out", str(run))
    assert r.returncode == 0, r.stderr
    r = _main("analyze", str(run), "--no-figures")
    assert r.returncode == 0, r.stderr
    r = _main("reproduce", "--preset", "smoke", "--quiet", "--budget-seconds", "0.001", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    # and the sweep says what is missing, in one line, instead of a traceback
    r = _main("sweep", "--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "needs optuna" in r.stderr, r.stderr
