"""Numbers -> one-line readings, on hand-made analysis entries."""

import copy

import numpy as np
import pytest

from miiii import report as readings
from miiii.analysis.subtasks import read_one_basis
from miiii.report import figures as registry
from miiii.report import html
from miiii.report.readings import one_basis


def _sub(ks, amb, res, neurons, shared, restricted, excluded, progress=(1.0, 1.0, 1.0)):
    return {"key_freqs": ks, "ambiguous": {str(k): a for k, a in zip(ks, amb)},
            "resolved": {str(k): r for k, r in zip(ks, res)}, "aliases": {str(k): a for k, a in zip(ks, amb)},
            "x1_freqs": {str(k): k for k in ks}, "energy": [0.1] * 3, "neurons": neurons,
            "neuron_ids": list(range(neurons)), "neurons_by_attribution": neurons + 2,
            "neurons_by_features": neurons + 1, "neuron_freqs": {str(ks[0]): neurons} if ks and neurons else {},
            "shared_neurons": shared, "loss_ks": ks, "loss": 0.1, "restricted_loss": restricted,
            "excluded_loss": excluded,
            "progress": {"epochs": [0, 16, 64], "restricted_loss": list(progress),
                         "excluded_loss": [1.0, 1.1, excluded]}}


# p = 11, grokked 2, 3, 5: 2 has an own key, 3 an ambiguous one its neurons settle, 5 only an
# unsettled one and no neurons; 7 (not grokked) two ambiguous keys.
PER = {
    "2": _sub([1], [[]], [True], 10, 0, 0.01, 1.5, (1.0, 0.05, 0.01)),
    "3": _sub([1], [[[7, 2]]], [True], 8, 2, 0.02, 1.2, (1.0, 0.5, 0.02)),
    "5": _sub([2], [[[7, 3]]], [False], 0, 0, 0.5, 0.7),
    "7": _sub([2, 3], [[[3, 1]], [[5, 2]]], [False, False], 5, 1, 0.8, 0.95),
}

N = {
    "run": 0, "config": {"task": "miiii", "p": 11}, "subtasks": [2, 3, 5, 7],
    "grok_epoch": [48, 48, 900, None], "grok_order": [[2, 3], [5]],
    "final_train_acc": [1.0, 1.0, 1.0, 0.5],
    "final_valid_acc": [1.0, 1.0, 0.99, 0.25],
    "pos_emb_corr": -0.64,
    "svd": {"singular_values": [3.0] * 11, "n50": 2, "n90": 3},
    "fourier": {"key_freqs": [1, 4], "freq_norms": [0, 1, 0, 0, 1, 0]},
    "neurons": {"n_neurons": 128, "dead": 3, "clustered": 100, "clusters": {"4": 60, "1": 40},
                "mean_frac_explained": 0.81, "cluster_min_frac": 0.5},
    "omega": {"k": 2.0, "epochs": [0, 1, 2, 4], "count": [5, 5, 4, 2],
              "dominant_epochs": [0, 1, 2, 4], "count_dominant": [0, 1, 3, 2],
              "reference_count": 5.0},
    "attention": {"reads": ["x0", "x1", "both"]},
    "grad_norms": {"W_E": {"final": 0.01, "max": 2.5, "max_epoch": 16},
                   "W_U": {"final": 0.2, "max": 1.0, "max_epoch": 2}},
    "per_subtask": PER,
}


def test_key_numbers():
    kn = dict(readings.key_numbers(N))
    assert kn["mean final validation accuracy"] == "0.810"
    assert kn["sub-tasks grokked"] == "3 / 4"
    assert kn["positional correlation r(x0, x1)"] == "-0.640"
    assert kn["key frequencies of W_E"] == "2 (1, 4)"
    assert kn["SVD components for 50 % / 90 %"] == "2 / 3"
    assert kn["|omega| final (peak, epoch) [mean + 2 std]"] == "2 (5 at 0)"
    assert kn["frequencies dominating neurons final (peak, epoch)"] == "2 (3 at 2)"
    assert kn["one basis per prime?"] == (
        "partly supported: 2 of 3 grokked have an own or settled W_E key, 2 serving neurons")
    none = dict(N, grok_epoch=[None] * 4)
    assert dict(readings.key_numbers(none))["one basis per prime?"] == "not readable (no grokked sub-task)"
    nanda = {k: v for k, v in N.items() if k != "per_subtask"}
    assert "one basis per prime?" not in dict(readings.key_numbers(nanda))


def test_readings_choose_words_from_numbers():
    assert "opposite directions (r = -0.64)" in readings.reading("pos_emb", N)
    alike = dict(N, pos_emb_corr=0.95)
    assert "embedded alike (r = 0.95)" in readings.reading("pos_emb", alike)
    assert "weakly related" in readings.reading("pos_emb", dict(N, pos_emb_corr=0.1))
    assert readings.reading("curves", N).startswith("3 of 4 sub-tasks grokked; first q = 2, 3 at epoch 48")
    none = dict(N, grok_epoch=[None] * 4, grok_order=[])
    assert readings.reading("curves", none).startswith("No sub-task grokked")
    assert readings.reading("fourier", N).startswith("2 key frequencies (1, 4)")
    nofreq = copy.deepcopy(N)
    nofreq["fourier"]["key_freqs"] = []
    assert readings.reading("fourier", nofreq).startswith("No key frequency")
    assert readings.reading("attention", N) == "head 0 reads x0; head 1 reads x1; 1 head(s) attend to both."
    assert "low-dimensional" in readings.reading("svd", N)
    assert "k = 4 (60 neurons), k = 1 (40 neurons)" in readings.reading("neurons", N)
    assert "peak 5 at epoch 0" in readings.reading("omega", N) and "peak 3 at epoch 2" in readings.reading("omega", N)
    assert "2.5 in W_E at epoch 16" in readings.reading("grad_norms", N)


def test_every_figure_has_a_title_and_a_reading():
    for name, spec in readings.FIGURES.items():
        assert spec.title and readings.reading(name, N)


def test_per_subtask_readings():
    assert readings.reading("subtask_energy", N) == (
        "4 of 4 sub-tasks have key (q, k) pairs in W_E (5 pairs); 4 of the pairs are ambiguous (a key alias of "
        "another sub-task is key too), 1 of those settled by the neurons; no key for q = none.")
    assert readings.reading("subtask_progress", N) == (
        "With the key k's of the analysed epoch, restricted loss <= 0.1 for 2 of 4 sub-tasks and excluded loss "
        ">= 0.9 for 3; the key k's carry q = 2, 3. Restricted loss first <= 0.1 at q = 2: 16 (grokked at 48); "
        "q = 3: 64 (grokked at 48); q = 5: never (grokked at 900).")
    assert readings.reading("subtask_neurons", N).startswith(
        "23 of 128 neurons serve one sub-task (W_U share and features agree; per q 2: 10, 3: 8, 5: 0, 7: 5); "
        "31 have their largest W_U share for some q and 27 a best pair")
    assert readings.reading("subtask_neurons", N).endswith("reach q = 3, 7.")
    empty = copy.deepcopy(N)
    for v in empty["per_subtask"].values():
        v["key_freqs"] = []
    assert readings.reading("subtask_energy", empty).startswith("No key (q, k) pair in W_E for any of the 4")
    old = {k: v for k, v in N.items() if k != "per_subtask"}  # an analysis.json from before per_subtask
    assert "re-run miiii analyze" in readings.reading("subtask_progress", old)
    nanda = dict(old, config={"task": "nanda", "p": 11})
    assert readings.reading("subtask_energy", nanda).startswith("task=nanda has no sub-task per prime q")
    diverged = dict(old, diverged_epoch=40)
    del diverged["fourier"]
    assert registry.section_reading("One basis per prime?", diverged).startswith("Diverged at epoch 40")


def _counts(grokked_qs, per=PER):
    return one_basis(dict(N, per_subtask=per, grok_epoch=[1 if q in grokked_qs else None for q in N["subtasks"]]))


@pytest.mark.parametrize("qs", [[2], [3], [5], [2, 3], [2, 3, 5], [5, 7], [7], [2, 3, 5, 7]])
def test_one_basis_counts_agree_with_read_one_basis(qs):
    c, line = _counts(qs), read_one_basis(PER, qs)
    assert line.endswith(f"one basis per prime is {c['verdict']}")
    assert line.startswith(f"{c['own']} of {c['grokked']} grokked")
    assert f"{c['settled']} an ambiguous one that their neurons settle, {c['ambiguous']} only ambiguous ones, " \
           f"{c['none']} none; {c['neurons']} have neurons" in line
    assert f"{c['shared']} of those share neurons" in line


def test_the_section_reading_is_read_one_basis():
    assert registry.section_reading("One basis per prime?", N) == read_one_basis(PER, [2, 3, 5]) + "."
    assert [name for name, spec in registry.FIGURES.items() if spec.section] == [
        "subtask_energy", "subtask_progress", "subtask_neurons"]
    assert list(registry.FIGURES)[-3:] == ["subtask_energy", "subtask_progress", "subtask_neurons"]


def test_the_page_has_the_section_once_before_its_figures():
    page = html.render_html([{"label": "r", "n": N, "epoch": 64, "images": {}}])
    head = page.index("<h2 id=one-basis-per-prime>One basis per prime?</h2>")
    assert page.count("One basis per prime?</h2>") == 1
    assert head > page.index("<h2 id=grad_norms>")
    assert head < page.index("<h3 id=subtask_energy>") < page.index("<h3 id=subtask_neurons>")
    assert read_one_basis(PER, [2, 3, 5]) in page


def test_the_per_subtask_figures_draw_from_hand_made_numbers():
    e = np.array([0, 1, 2, 4, 8, 16, 32, 64])
    acc = np.linspace(0, 1, len(e))[:, None].repeat(4, 1)
    arrays = {"curves": {"epochs": e, "valid_accuracy": acc}}
    for name in ("subtask_energy", "subtask_progress", "subtask_neurons"):
        fig = registry.FIGURES[name].draw(N, arrays)
        assert fig.axes and fig.get_suptitle()
        nanda = {k: v for k, v in N.items() if k != "per_subtask"}
        assert "no per-sub-task analysis" in registry.FIGURES[name].draw(nanda, arrays).axes[0].texts[0].get_text()
