"""Numbers -> one-line readings, on hand-made analysis entries."""

import copy

from miiii import report as readings

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
    "grad_norms": {"W_E": {"final": 0.01, "max": 2.5, "max_epoch": 16}, "W_U": {"final": 0.2, "max": 1.0, "max_epoch": 2}},
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
