"""miiii analyze / figures / report on bad input (one line, exit 2) and the study's figures."""

import subprocess
import sys

import pytest

from miiii.config import parse_overrides, preset
from miiii.runner import train_run

CLI = [sys.executable, "-m", "miiii.cli"]


def _miiii(*args):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "tiny"
    train_run(parse_overrides(preset("smoke"), ["epochs=4"]), str(run))
    return run



def test_bad_input_is_one_line_and_exit_2(tiny_run, tmp_path, one_line_error):
    one_line_error(_miiii("analyze", tmp_path), "not a complete miiii run")
    one_line_error(_miiii("analyze", tiny_run, "--epoch", 3), "no checkpoint at epoch 3", "[0, 1, 2, 4]")
    one_line_error(_miiii("analyze", tiny_run, "--run", 1), "--run", "out of range")
    one_line_error(_miiii("report", tiny_run, tmp_path / "missing", "--out", tmp_path / "r.html"), "not a complete")
    one_line_error(_miiii("report", tiny_run, "--out", tmp_path / "r.txt"), ".html")
    assert not (tiny_run / "analysis").exists()  # nothing half-written by the failures


def test_analyze_one_epoch_of_one_run(tiny_run):
    r = _miiii("analyze", tiny_run, "--epoch", 2, "--run", 0, "--no-figures")
    assert r.returncode == 0, r.stderr
    import json
    doc = json.loads((tiny_run / "analysis" / "analysis.json").read_text())
    assert doc["epoch"] == 2 and [n["run"] for n in doc["runs"]] == [0]


def test_figures_command(tmp_path, one_line_error):
    r = _miiii("figures", "--out", tmp_path / "figs", "--p", 23, "--grid-p", 7)
    assert r.returncode == 0, r.stderr
    names = {"polar_primes", "polar_multiples", "input_grid", "target_grids"}
    assert {f.name for f in (tmp_path / "figs").iterdir()} == {f"{n}.{e}" for n in names for e in ("svg", "png")}
    one_line_error(_miiii("figures", "--out", tmp_path / "f2", "--primes", "2,x"), "--primes")


def test_illustration_primes():
    import numpy as np

    from miiii.plots.illustrations import is_prime
    assert np.flatnonzero(is_prime(np.arange(30))).tolist() == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_figures_in_pdf_are_byte_identical_on_rerun(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        r = subprocess.run(CLI + ["figures", "--out", str(out), "--p", "11", "--format", "pdf,svg"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    pdfs = sorted(p.name for p in a.glob("*.pdf"))
    assert pdfs and not list(a.glob("*.png"))
    for name in pdfs:
        assert (a / name).read_bytes()[:5] == b"%PDF-"
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    r = subprocess.run(CLI + ["figures", "--out", str(a), "--format", "jpg"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == \
        "miiii: error: --format: expected a comma-separated list of svg, png, pdf, got 'jpg'"
