"""Every state an ``--out`` can be in, through the real CLI (the README's first command, on a
copy of the committed tree, is tested end to end in test_reproduce.py).

empty -> train; complete with checkpoints -> reuse; complete without checkpoints -> one-line
error saying what to do; partial -> resume; another run's config -> one-line error.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "miiii.cli"]
SMOKE = ["train", "--preset", "smoke", "--quiet", "epochs=16"]

pytestmark = pytest.mark.slow


def _miiii(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=600, cwd=cwd)



@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("states") / "run"
    r = _miiii(*SMOKE, "--out", str(out))  # empty (absent) -> train
    assert r.returncode == 0, r.stderr
    return out


def test_empty_directory_trains(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    r = _miiii(*SMOKE, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["complete"]


def test_complete_with_checkpoints_is_reused(trained, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    r = _miiii(*SMOKE, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}  # nothing rewritten


def test_complete_without_checkpoints_says_what_to_do(trained, tmp_path, one_line_error):
    out = tmp_path / "record"
    shutil.copytree(trained, out, ignore=shutil.ignore_patterns("checkpoints"))
    one_line_error(_miiii(*SMOKE, "--out", str(out)), "without its checkpoints", "summary.json")
    one_line_error(_miiii("analyze", str(out)), "without its checkpoints")
    (out / "summary.json").unlink()  # what the message suggests: retrain it in place
    r = _miiii(*SMOKE, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "checkpoints" / "final.safetensors").exists()


def test_partial_run_resumes_to_the_same_parameters(trained, tmp_path):
    out = tmp_path / "partial"
    shutil.copytree(trained, out)
    (out / "summary.json").unlink()  # killed after its last state was saved, before the end
    (out / "checkpoints" / "final.safetensors").unlink()
    r = _miiii(*SMOKE, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "checkpoints" / "final.safetensors").read_bytes() == \
        (trained / "checkpoints" / "final.safetensors").read_bytes()


def test_another_runs_config_is_refused(trained, tmp_path, one_line_error):
    out = tmp_path / "other"
    shutil.copytree(trained, out)
    one_line_error(_miiii(*SMOKE[:-1], "epochs=32", "--out", str(out)), "holds a different run")


def test_a_second_training_process_on_one_out_gets_a_one_line_error(tmp_path):
    """While one process holds the directory (``RunDir.lock``, here this test's), another
    ``miiii train`` on it refuses at once with one line, and writes nothing."""
    from miiii.store import RunDir

    out = tmp_path / "busy"
    with RunDir(out).lock():
        r = _miiii(*SMOKE, "--out", str(out))
        assert r.returncode == 2 and "being trained by another miiii process" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not (out / "config.json").exists()
    r = _miiii(*SMOKE, "--out", str(out))  # released: it trains
    assert r.returncode == 0, r.stderr and (out / "summary.json").exists()


def test_closed_stdout_is_a_clean_exit(tmp_path):
    """``miiii ... | head``: the reader goes away before the output is written; no traceback.
    (``--help`` cannot show it: argparse swallows the error itself; a command's own lines can.)"""
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "results" / "quick", tmp_path / "quick")  # judged again: a few KB of lines
    p = subprocess.Popen(CLI + ["reproduce", "--judge-only", "--out", str(tmp_path / "quick")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # before the interpreter has even started writing
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err
