"""End to end: a smoke multi-run -> miiii analyze -> miiii report, checked in a real browser."""

import base64
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from miiii.config import parse_overrides, preset
from miiii.report import FIGURES, key_numbers, reading
from miiii.report.figures import section_reading
from miiii.runner import train_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """One smoke run with two seeds, analysed and reported through the real CLI."""
    base = tmp_path_factory.mktemp("report")
    run = base / "smoke"
    train_run(parse_overrides(preset("smoke"), ["seed=0,1"]), str(run))
    cli = [os.environ.get("PYTHON", __import__("sys").executable), "-m", "miiii.cli"]
    a = subprocess.run(cli + ["analyze", str(run)], capture_output=True, text=True, timeout=300)
    assert a.returncode == 0, a.stderr
    out = base / "report.html"
    r = subprocess.run(cli + ["report", str(run), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return {"run": run, "html": out, "doc": json.loads((run / "analysis" / "analysis.json").read_text()),
            "analyze_stdout": a.stdout}


def test_analysis_json_has_every_key_per_run(analysed):
    doc = analysed["doc"]
    assert doc["n_runs"] == 2 and [r["run"] for r in doc["runs"]] == [0, 1] and doc["epoch"] == 64
    for n in doc["runs"]:
        for key in ("pos_emb_corr", "svd", "fourier", "neurons", "omega", "grok_epoch", "attention", "grad_norms"):
            assert key in n, key
        assert {"norms", "key_freqs"} <= set(n["fourier"]) and len(n["fourier"]["norms"]) == 11
        assert {"epochs", "count", "count_dominant", "dominant_epochs"} <= set(n["omega"])
        assert n["omega"]["dominant_epochs"] == [0, 1, 2, 4, 8, 16, 32, 64]
        assert n["omega"]["count_dominant"][0] == 0 and n["omega"]["dominant_min_frac"] >= 0.5  # untrained: none
        assert len(n["omega"]["epochs"]) == len(n["omega"]["count"]) > 10
        assert {"singular_values", "n50", "n90"} <= set(n["svd"])
        assert len(n["neurons"]["top_freq"]) == 4 * 32
        assert len(n["grok_epoch"]) == len(n["grok_first"]) == len(n["grok_censored"]) == 4
        assert -1 <= n["pos_emb_corr"] <= 1
    assert doc["runs"][0]["config"]["seed"] == 0 and doc["runs"][1]["config"]["seed"] == 1
    assert doc["runs"][0]["pos_emb_corr"] != doc["runs"][1]["pos_emb_corr"]
    assert "run 1:" in analysed["analyze_stdout"]


PER_SUBTASK_KEYS = {"key_freqs", "x1_freqs", "aliases", "ambiguous", "resolved", "energy", "neurons", "neuron_ids",
                    "neurons_by_attribution", "neurons_by_features", "neuron_freqs", "shared_neurons", "loss_ks",
                    "loss", "restricted_loss", "excluded_loss", "progress"}  # docs/analysis.md, docs/per-subtask.md


def test_per_subtask_for_every_q_with_a_progress_curve_per_checkpoint(analysed):
    for n in analysed["doc"]["runs"]:
        per = n["per_subtask"]
        assert list(per) == [str(q) for q in n["subtasks"]] == ["2", "3", "5", "7"]
        for q, v in per.items():
            assert set(v) == PER_SUBTASK_KEYS, set(v) ^ PER_SUBTASK_KEYS
            assert len(v["energy"]) == int(q) // 2
            assert set(v["ambiguous"]) == set(v["resolved"]) == set(map(str, v["key_freqs"]))
            assert len(v["neuron_ids"]) == v["neurons"] <= min(v["neurons_by_attribution"], v["neurons_by_features"])
            pr = v["progress"]
            assert pr["epochs"] == n["omega"]["dominant_epochs"] == [0, 1, 2, 4, 8, 16, 32, 64]  # every checkpoint
            assert len(pr["restricted_loss"]) == len(pr["excluded_loss"]) == len(pr["epochs"])
            # the last checkpoint is the analysed one, whose keys the curves use
            assert pr["restricted_loss"][-1] == pytest.approx(v["restricted_loss"], rel=1e-4, abs=1e-6)
            assert pr["excluded_loss"][-1] == pytest.approx(v["excluded_loss"], rel=1e-4, abs=1e-6)
            assert 0.8 < pr["restricted_loss"][0] < 1.3  # untrained: about chance (1) either way


def test_omega_count_matches_the_recorded_table(analysed):
    import pandas as pd
    w = pd.read_parquet(analysed["run"] / "omega.parquet")
    w = w[(w.run == 1) & (w.neurons > 0)]
    expected = w.groupby("epoch").frequency.count().reindex(analysed["doc"]["runs"][1]["omega"]["epochs"], fill_value=0)
    assert analysed["doc"]["runs"][1]["omega"]["count"] == expected.tolist()


def test_figures_svg_and_png_for_every_analysis(analysed):
    figs = analysed["run"] / "analysis" / "figures"
    assert {"subtask_energy", "subtask_progress", "subtask_neurons"} <= set(FIGURES)
    for n in analysed["doc"]["runs"]:
        assert set(n["figures"]) == set(FIGURES) and all(set(f) == {"svg", "png"} for f in n["figures"].values())
    for name in FIGURES:
        for i in (0, 1):
            svg, png = figs / f"{name}_run{i}.svg", figs / f"{name}_run{i}.png"
            assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:2000]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_is_self_contained(analysed):
    page = analysed["html"].read_text()
    imgs = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(imgs) == 2 * len(FIGURES)
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing fetched from a network
    assert "<link" not in page and "<script" not in page
    for n in analysed["doc"]["runs"]:
        assert f"{n['pos_emb_corr']:.3f}" in page
        assert html_lib.escape(reading("fourier", n)) in page
        assert html_lib.escape(reading("subtask_progress", n)) in page
        assert html_lib.escape(section_reading("One basis per prime?", n)) in page
        assert html_lib.escape(dict(key_numbers(n))["one basis per prime?"]) in page
    assert page.count(">One basis per prime?</h2>") == 1


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]

# Appended to a copy of the page: after every image has loaded (the load event), write what
# the browser sees into the DOM, which --dump-dom then prints.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]);
  const pre = document.createElement('pre'); pre.id = 'miiii-probe';
  pre.textContent = JSON.stringify({imgs, text: document.body.innerText});
  document.body.appendChild(pre);
});</script></body>"""


def test_report_in_headless_chromium(analysed, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found: run .ci/install-browser.sh (Debian's chromium package) to enable this test")
    page = analysed["html"].read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE, 1))
    with tempfile.TemporaryDirectory() as profile:
        flags = CHROME_FLAGS + [f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
        dom = subprocess.run([exe, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
        assert dom.returncode == 0, dom.stderr[-2000:]
        m = re.search(r'<pre id="miiii-probe">(.*?)</pre>', dom.stdout, re.S)
        assert m, "the page's load event never ran: " + dom.stdout[-500:]
        seen = json.loads(html_lib.unescape(m.group(1)))
        assert len(seen["imgs"]) == 2 * len(FIGURES)
        assert all(ok and w > 0 and h > 0 for ok, w, h in seen["imgs"]), seen["imgs"]
        text = seen["text"]
        for n in analysed["doc"]["runs"]:
            for label, value in key_numbers(n):
                assert label in text and value in text, (label, value)
        shot = Path(os.environ.get("MIIII_SCREENSHOT_DIR", tmp_path)) / "report.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        s = subprocess.run([exe, *CHROME_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,2000",
                            f"--screenshot={shot}", analysed["html"].as_uri()],
                           capture_output=True, text=True, timeout=120)
        assert s.returncode == 0 and shot.read_bytes()[:4] == b"\x89PNG", s.stderr[-2000:]
        print(f"screenshot: {shot}")


LAYOUT_PROBE = """<script>window.addEventListener('load', () => {
  const pre = document.createElement('pre'); pre.id = 'miiii-probe';
  const h2 = [...document.querySelectorAll('h2')].map(h => h.textContent);
  const wide = [...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().right);
  pre.textContent = JSON.stringify({h2, page: document.documentElement.scrollWidth,
                                    view: document.documentElement.clientWidth, right: Math.max(...wide)});
  document.body.appendChild(pre);
});</script></body>"""


@pytest.mark.parametrize("copies", [1, 4])
def test_report_leads_with_the_extra_section_and_fits_the_width(analysed, tmp_path, copies):
    """A reproduction's page: the fidelity table first, and no table wider than a 1280-px window,
    for 2 runs (a column each) and for 8 runs (a row each), with long cells."""
    from miiii.pipelines.report import write_report

    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found: run .ci/install-browser.sh (Debian's chromium package) to enable this test")
    long_cell = "a-very-long-unbroken-measurement-" * 20
    section = ("Fidelity to the study", f"<table><tr><th>claim</th><th>measured</th></tr>"
                                        f"<tr><td>grok_order</td><td>{long_cell}</td></tr></table>")
    out = write_report([analysed["run"]] * copies, tmp_path / "page.html", extra_sections=[section])
    page = out.read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", LAYOUT_PROBE, 1))
    with tempfile.TemporaryDirectory() as profile:
        flags = CHROME_FLAGS + [f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--window-size=1280,2000"]
        dom = subprocess.run([exe, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    seen = json.loads(html_lib.unescape(re.search(r'<pre id="miiii-probe">(.*?)</pre>', dom.stdout, re.S).group(1)))
    assert seen["h2"][0] == "Fidelity to the study" and seen["h2"][1] == "Key numbers", seen["h2"]
    assert seen["page"] <= seen["view"] and seen["right"] <= seen["view"], seen
    if copies > 1:
        assert page.count("One row per run") == 1
