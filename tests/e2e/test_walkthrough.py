"""examples/walkthrough.py, run end to end as a script at smoke size: no traceback, and it writes
nothing into the repository (``git status --porcelain`` is the same before and after)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "examples" / "walkthrough.py"


def _git_status() -> str | None:
    """The work tree's state, or None where it cannot be read (no git, not a checkout)."""
    if shutil.which("git") is None:
        return None
    r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def test_it_is_a_percent_format_notebook():
    text = NOTEBOOK.read_text()
    assert text.startswith("# ---\n# jupyter:\n") and "format_name: percent" in text
    cells = text.split("\n# %%")[1:]
    assert len(cells) >= 8 and sum(c.startswith(" [markdown]") for c in cells) >= 5
    for c in cells:  # every code cell is Python on its own
        if not c.startswith(" [markdown]"):
            compile(c, str(NOTEBOOK), "exec")


def test_walkthrough_runs_as_a_script(tmp_path):
    pytest.importorskip("transformer_lens", reason='the walkthrough needs the tl extra: pip install -e ".[tl]"')
    before = _git_status()
    env = os.environ | {"MIIII_WALKTHROUGH_PRESET": "smoke", "MIIII_WALKTHROUGH_OUT": str(tmp_path),
                        "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(NOTEBOOK)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    print(f"walkthrough (smoke): {time.perf_counter() - t0:.1f} s")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Traceback" not in out, out
    for says in ("final accuracy per sub-task", "key frequencies:", "explains", "equals the summary's: True",
                 "head 0 ablated", "change from clean"):
        assert says in r.stdout, (says, r.stdout)
    assert (tmp_path / "run" / "summary.json").exists()
    assert {"valid_accuracy.png", "spectrum.png", "neuron.png"} <= {f.name for f in tmp_path.iterdir()}

    after = _git_status()
    if before is None:
        pytest.skip("ran cleanly, but not a git checkout: cannot check that the work tree stayed clean")
    assert after == before, f"the walkthrough changed the work tree:\nbefore:\n{before}\nafter:\n{after}"
