"""The omega rules on hand-made spectra and on untrained models."""

import numpy as np

from miiii.measures import omega


def test_spec_rule_on_hand_made_neurons():
    p = 11
    x0, x1 = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    grids = np.stack([
        np.cos(2 * np.pi * 3 * x0 / p),  # only DFT components (3, 0), (8, 0): frequency 3
        np.cos(2 * np.pi * 2 * x1 / p) + 5,  # frequency 2 (the constant is excluded)
        np.cos(2 * np.pi * (4 * x0 + 1 * x1) / p),  # component (4, 1): frequencies 4 and 1
        np.full((p, p), 7.0),  # constant: nothing
        np.zeros((p, p)),  # dead: nothing
    ]).astype(np.float32)
    counts = np.asarray(omega.active_counts(grids, 2.0))
    assert counts.tolist() == [0, 1, 1, 1, 1, 0]
    assert int(omega.omega_size(counts)) == 4


def test_threshold_is_a_parameter():
    p = 11
    x0, _ = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    # frequency 1 strong, frequency 2 weak: a high k keeps only the strong one
    g = (np.cos(2 * np.pi * x0 / p) + 0.5 * np.cos(2 * np.pi * 2 * x0 / p))[None].astype(np.float32)
    assert np.asarray(omega.active_counts(g, 2.0))[1:3].tolist() == [1, 1]
    assert np.asarray(omega.active_counts(g, 5.0))[1:3].tolist() == [1, 0]


def test_calibrated_count_against_the_null_maximum():
    null = np.array([[0, 3, 5, 2], [0, 4, 1, 6]])  # two untrained models, frequencies 0..3
    assert omega.calibrated_threshold(null) == 6
    counts = np.array([[0, 6, 6, 6], [0, 7, 2, 9], [0, 0, 0, 0]])
    assert omega.calibrated_count(counts, 6).tolist() == [0, 2, 0]


def test_saturation_is_seen_in_untrained_models_at_small_p_only():
    import jax

    from miiii import model, tasks
    from miiii.analysis.summary import neuron_grids_of
    from miiii.config import Config

    def null(p: int, d: int) -> np.ndarray:
        cfg = Config(p=p, d_model=d, n_heads=4)
        params = model.init(jax.random.PRNGKey(0), tasks.task_of(cfg), d, 4, 1)
        return np.asarray(omega.active_counts(neuron_grids_of(params, p), 2.0))[None]

    assert omega.saturated(null(23, 64))  # the study's rule marks every frequency of a random model
    assert not omega.saturated(np.array([[0, 5, 0, 0, 0, 0]]))
    assert omega.calibrated_threshold(null(23, 64)) > 0
