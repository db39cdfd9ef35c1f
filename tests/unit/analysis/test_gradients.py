import numpy as np

from miiii.analysis import gradients


def test_grad_norm_summary():
    e = np.array([0, 1, 2, 4])
    g = np.array([[np.nan, 3.0, 5.0, 1.0], [np.nan, np.nan, np.nan, np.nan], [np.nan, 2.0, 1.0, np.nan]])
    s = gradients.grad_norm_summary(e, g, ["W_E", "W_pos", "W_U"])
    assert s == {"W_E": {"final": 1.0, "max": 5.0, "max_epoch": 2},
                 "W_U": {"final": 1.0, "max": 2.0, "max_epoch": 1}}
