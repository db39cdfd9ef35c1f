import numpy as np

from miiii.measures.grok import grok_epoch, grok_epochs


def test_grok_epoch_on_synthetic_curves():
    e = np.array([0, 1, 2, 4, 8, 16, 32])
    assert grok_epoch(e, np.array([0.1, 0.2, 0.5, 0.995, 0.999, 1.0, 1.0])) == 4
    # touches 0.99 early, falls back, then grokks for good at 16
    assert grok_epoch(e, np.array([0.1, 0.99, 0.5, 0.6, 0.7, 0.99, 1.0])) == 16
    assert grok_epoch(e, np.array([0.1, 0.99, 1.0, 1.0, 1.0, 1.0, 0.98])) is None
    assert grok_epoch(e, np.full(7, 1.0)) == 0
    assert grok_epoch(e, np.array([1, 1, 1, 1, 1, 1, np.nan])) is None
    # unsorted input is sorted by epoch first
    assert grok_epoch(e[::-1], np.array([1.0, 1.0, 0.999, 0.995, 0.5, 0.2, 0.1])) == 4


def test_grok_epochs_per_subtask():
    e = np.array([0, 10, 20])
    acc = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.995]])
    assert grok_epochs(e, acc) == [10, 20]
