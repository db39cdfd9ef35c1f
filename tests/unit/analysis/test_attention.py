import numpy as np

from miiii.analysis import attention


def test_grids_and_reads():
    p, h = 4, 3
    pat = np.zeros((p * p, h, 1, 3))
    pat[:, 0, 0, 0] = 1.0  # head 0 reads x0
    pat[:, 1, 0, 1] = 0.9  # head 1 reads x1
    pat[:, 1, 0, 2] = 0.1
    pat[:, 2, 0, :] = 1 / 3
    pat[5, 2, 0, :] = [0.5, 0.25, 0.25]  # sample 5 = (x0, x1) = (1, 1)
    g = attention.attention_grids(pat, p)
    assert g.shape == (h, 3, p, p)
    assert g[2, 0, 1, 1] == 0.5 and g[2, 0, 0, 1] == 1 / 3
    s = attention.attention_summary(g)
    assert s["reads"] == ["x0", "x1", "both"]
    np.testing.assert_allclose(s["to_x1"][1], 0.9)
