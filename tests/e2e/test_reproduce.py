import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from miiii.pipelines import fidelity
from miiii.pipelines.reproduce import run_set

REPO = Path(__file__).resolve().parents[2]
CLAIMS = {"grok_order", "others_late", "pos_corr_nanda", "pos_corr_miiii", "pos_corr_contrast", "key_freqs",
          "omega_spike", "lambda_zero", "dropout_zero", "masked_first", "masked_speedup", "attention_digits"}


def test_run_set_shares_shapes_in_one_multi_run():
    sets = run_set("long")
    grid, roles = sets["main"]
    runs = grid.runs
    assert len(runs) == len(roles) == 8 + 8 + 8 + 6 + 3  # >= 8 per sign-tested role, 6 masked
    assert {r.task for r in runs} == {"miiii", "basis", "masked"}
    by = dict(zip(roles, runs))
    contrast = next(r for role, r in by.items() if role.startswith("miiii lambda=") and role.endswith("seed 1"))
    assert contrast.lambda_ != by["miiii seed 1"].lambda_ and 0 in (contrast.lambda_, by["miiii seed 1"].lambda_)
    assert by["dropout=0 seed 2"].dropout == 0
    assert {r.seed for role, r in by.items() if role.startswith("miiii seed")} == set(range(8))
    assert all(r.split_seed == r.seed for r in runs)
    assert by["masked seed 0"].loss_mask == (2, 3, 5, 7)
    nanda_grid, nanda_roles = sets["nanda"]
    assert {r.task for r in nanda_grid.runs} == {"nanda"} and len(nanda_roles) == 8
    # everything that sets a shape is common to the multi-run
    shape = lambda c: (c.p, c.d_model, c.n_heads, c.depth, c.epochs, c.train_frac, c.filter)  # noqa: E731
    assert len({shape(r) for r in runs}) == 1


def _readme_first_command() -> list[str]:
    """The README's main job: its first ``sh`` block's ``miiii reproduce`` step, as arguments."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    step = blocks[0].strip().split("&&")[-1].strip()
    assert step.startswith(".venv/bin/miiii reproduce"), blocks[0]
    return step.split()[1:]


@pytest.mark.slow
@pytest.mark.timeout(1500)  # a whole smoke reproduction (9 runs trained and analysed) and a resumed one
def test_readme_first_command_end_to_end_on_a_copy_of_the_committed_tree(tmp_path):
    """The README's main job at the smoke preset, in a copy of what a fresh clone holds (with the
    committed results/), then judged claim by claim, reported, and resumed by a second run."""
    args = _readme_first_command()
    args[args.index("--preset") + 1] = "smoke"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: cannot tell which files a fresh clone holds")
    clone = tmp_path / "clone"
    for f in tracked:
        if (REPO / f).is_file():
            (clone / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, clone / f)
    out = clone / args[args.index("--out") + 1]
    r = subprocess.run([sys.executable, "-m", "miiii.cli", *args, "--quiet"], capture_output=True, text=True,
                       cwd=clone)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "fidelity.json").read_text())
    assert {c["id"] for c in doc["claims"]} == CLAIMS
    for c in doc["claims"]:
        assert {"id", "study", "measured", "verdict", "n", "p", "p_min"} <= set(c) and c["verdict"] in fidelity.VERDICTS
        assert c["p"] is None or 0 <= c["p"] <= 1
        assert c["verdict"] != fidelity.UNTESTABLE or c["reason"] in ("size", "budget", "saturation")
    assert set(doc["definitions"]["verdicts"]) == set(fidelity.VERDICTS)
    # p = 11 has no prime above 7 to mask around: the rules must say so, not guess
    by = {c["id"]: c for c in doc["claims"]}
    for cid in ("masked_first", "masked_speedup", "others_late"):
        assert by[cid]["verdict"] == fidelity.UNTESTABLE and by[cid]["reason"] == "size"
    assert doc["runs"]["main"][:2] == ["miiii seed 0", "miiii seed 1"] and len(doc["runs"]["nanda"]) == 2
    page = (out / "report.html").read_text()
    assert "Fidelity to the study" in page and "pos_corr_miiii" in page
    for name in ("main", "nanda"):
        assert json.loads((out / "runs" / name / "summary.json").read_text())["complete"]
    # a second invocation resumes: nothing retrained, same verdicts
    r2 = subprocess.run([sys.executable, "-m", "miiii.cli", *args, "--quiet"], capture_output=True, text=True,
                        cwd=clone)
    assert r2.returncode == 0, r2.stderr
    again = json.loads((out / "fidelity.json").read_text())
    assert [c["verdict"] for c in again["claims"]] == [c["verdict"] for c in doc["claims"]]
    # the reused analyses keep the time they took when written, not the ~0 s of reading them
    assert again["analysis_seconds"] == doc["analysis_seconds"] > 0
    assert again["analysis_seconds_by_dir"] == doc["analysis_seconds_by_dir"]
    # judged again from the analysis.json files alone: same claims, same timing, no report rewritten
    stamp = (out / "report.html").stat().st_mtime_ns
    r3 = subprocess.run([sys.executable, "-m", "miiii.cli", "reproduce", "--judge-only", "--out", str(out)],
                        capture_output=True, text=True, cwd=clone)
    assert r3.returncode == 0, r3.stderr
    judged = json.loads((out / "fidelity.json").read_text())
    assert judged["claims"] == again["claims"] and judged["seconds"] == again["seconds"]
    assert (out / "report.html").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_reproduce_out_of_budget_is_reported_incomplete(tmp_path):
    out = tmp_path / "rep"
    r = subprocess.run([sys.executable, "-m", "miiii.cli", "reproduce", "--preset", "smoke", "--out", str(out),
                        "--quiet", "--budget-seconds", "0.001"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "INCOMPLETE" in r.stdout
    doc = json.loads((out / "fidelity.json").read_text())
    assert doc["complete"] is False and doc["claims"] == []
    assert 0 < doc["epochs_reached"]["main"] < doc["epochs"]["main"]
    assert not (out / "runs" / "main" / "summary.json").exists()
    assert (out / "runs" / "main" / "checkpoints" / "state.safetensors").exists()  # re-running resumes
    bad = subprocess.run([sys.executable, "-m", "miiii.cli", "reproduce", "--preset", "smoke", "--out",
                          str(out), "--budget-seconds", "-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("miiii: error: --budget-seconds")
