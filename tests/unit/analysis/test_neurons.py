import numpy as np
import pytest

from miiii import tasks
from miiii.analysis import neurons


def _grid(f):
    p = 13
    x0, x1 = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return f(x0, x1, p)


def test_cosine_neuron_has_its_frequency_and_fraction_one():
    for k in (1, 3, 6):
        g = _grid(lambda a, b, p, k=k: np.cos(2 * np.pi * k * a / p))[None]
        top, frac = neurons.top_freqs(neurons.freq_fractions(g))
        assert top[0] == k and frac[0] == pytest.approx(1.0)


def test_products_and_mixtures():
    g = np.stack([
        _grid(lambda a, b, p: np.cos(2 * np.pi * 2 * a / p) * np.sin(2 * np.pi * 2 * b / p) + 3),  # one frequency
        _grid(lambda a, b, p: np.sqrt(3) * np.cos(2 * np.pi * 5 * b / p) + np.sin(2 * np.pi * 1 * a / p)),  # 3 : 1
        _grid(lambda a, b, p: np.cos(2 * np.pi * (2 * a + 3 * b) / p)),  # mixes frequencies 2 and 3
        np.zeros((13, 13)),  # dead
    ])
    fr = neurons.freq_fractions(g)
    top, frac = neurons.top_freqs(fr)
    assert top[0] == 2 and frac[0] == pytest.approx(1.0)
    assert top[1] == 5 and frac[1] == pytest.approx(0.75) and fr[1, 1] == pytest.approx(0.25)
    assert fr[2].sum() == pytest.approx(0.0, abs=1e-12)
    assert top[3] == 0 and frac[3] == 0
    s = neurons.neuron_summary(g)
    assert s["dead"] == 1 and s["clusters"] == {"2": 1, "5": 1} and s["clustered"] == 2


def test_neuron_grids_follow_the_sample_order():
    p = 5
    x = tasks.inputs(p)
    post = np.stack([x[:, 0], 10 * x[:, 1]], 1).astype(float)  # neuron 0 = x0, neuron 1 = 10 x1
    g = neurons.neuron_grids(post, p)
    assert g[0, 3, 1] == 3 and g[1, 3, 1] == 10


def test_dominant_freqs_need_several_neurons():
    top = np.array([3, 3, 5, 0, 7, 7, 7])
    frac = np.array([0.9, 0.6, 0.95, 0.0, 0.4, 0.8, 0.7])
    assert neurons.dominant_freqs(top, frac) == [3, 7]  # 5 has one neuron; one 7 is below 0.5


def test_untrained_neurons_spread_their_variance():
    import jax

    from miiii.analysis.activations import run_with_cache
    from miiii.config import Config
    from miiii.model import init
    cfg = Config.make(p=37, d_model=64, n_heads=4)
    _, cache = run_with_cache(init(jax.random.PRNGKey(0), tasks.task_of(cfg), 64, 4, 1), 37)
    g = neurons.neuron_grids(cache["blocks.0.mlp.hook_post"][:, 0, :], 37)
    top, frac = neurons.top_freqs(neurons.freq_fractions(g))
    assert neurons.dominant_freqs(top, frac) == [] and frac.max() < 0.5
