from miiii.pipelines import fidelity as f

QS = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31]


def test_grok_order_holds_fails_and_untestable():
    good = [1, 2, 4, 8, 20, 20, 21, 22, 25, 30, 31]
    bad = [4, 2, 1, 8, 20, 20, 21, 22, 25, 30, 31]
    assert f.grok_order(QS, [good, good]).verdict == f.REPRODUCED
    assert f.grok_order(QS, [bad, bad, good]).verdict == f.DIFFERS
    assert f.grok_order([2, 3, 5], [[1, 2, 3]]).verdict == f.UNTESTABLE
    assert f.grok_order(QS, [[None] * len(QS)]).verdict == f.UNTESTABLE


def test_others_late():
    together = [1, 2, 4, 8, 20, 20, 21, 22, 25, 30, 31]
    spread = [1, 2, 4, 8, 9, 20, 21, 22, 25, 30, 100]
    assert f.others_late(QS, [together]).verdict == f.REPRODUCED
    assert f.others_late(QS, [spread]).verdict == f.DIFFERS
    assert f.others_late(QS, [[1, 2, 4, 8] + [None] * 7]).verdict == f.UNTESTABLE


def test_pos_corr():
    assert f.pos_corr("miiii", -0.64, [-0.5, -0.7]).verdict == f.REPRODUCED
    assert f.pos_corr("miiii", -0.64, [0.3]).verdict == f.DIFFERS
    assert f.pos_corr("nanda", 0.95, []).verdict == f.UNTESTABLE
    # a mean pulled negative by one seed while most seeds are positive is not a reproduction
    assert f.pos_corr("miiii", -0.64, [-2.0, 0.1, 0.2]).verdict == f.DIFFERS


def test_attention_digits():
    assert f.attention_digits([["x0", "x1", "x1", "both"]]).verdict == f.REPRODUCED
    assert f.attention_digits([["both", "both", "x0", "both"]]).verdict == f.DIFFERS
    assert f.attention_digits([["x0", "x0", "x0", "x0"]]).verdict == f.DIFFERS  # x1 never read
    assert f.attention_digits([]).verdict == f.UNTESTABLE


def test_key_freqs():
    assert f.key_freqs([5], [14, 16], [0]).verdict == f.REPRODUCED
    assert f.key_freqs([5], [3], [0]).verdict == f.DIFFERS
    assert f.key_freqs([5], [14], [2]).verdict == f.DIFFERS
    assert f.key_freqs([], [14], [0]).verdict == f.UNTESTABLE


def test_omega_spike():
    e = [256, 1024, 4096, 16384, 65536]
    assert f.omega_spike(e, [[0, 0, 10, 18, 10]]).verdict == f.REPRODUCED
    assert f.omega_spike(e, [[20, 15, 10, 5, 2]]).verdict == f.DIFFERS
    assert f.omega_spike(e, []).verdict == f.UNTESTABLE


def test_lambda_zero():
    assert f.lambda_zero([1, 2, 3], [1, None, None]).verdict == f.REPRODUCED
    assert f.lambda_zero([1, 2, 3], [1, 2, 3]).verdict == f.DIFFERS
    assert f.lambda_zero([None, None], [None, None]).verdict == f.UNTESTABLE


def test_dropout_zero():
    qs = [2, 3, 5, 7]
    assert f.dropout_zero(qs, [5, 9, None, None], [1, 1, 1, 1]).verdict == f.REPRODUCED
    assert f.dropout_zero(qs, [5, 9, 30, None], [1, 1, 1, 1]).verdict == f.DIFFERS
    assert f.dropout_zero([2], [5], [1]).verdict == f.UNTESTABLE


def test_masked_first():
    g = [None, None, None, None, 10, 12, 15, 20, 40, 45, 50]
    assert f.masked_first(QS, g).verdict == f.REPRODUCED
    g2 = [None, None, None, None, 10, 12, 15, 60, 40, 45, 50]
    assert f.masked_first(QS, g2).verdict == f.DIFFERS
    assert f.masked_first(QS[:6], g[:6]).verdict == f.UNTESTABLE  # no q = 17, 19
    assert f.masked_first(QS[:8], g[:8]).verdict == f.REPRODUCED  # p = 23: nothing above 19
    assert f.masked_first(QS[:8], g[:7] + [None]).verdict == f.DIFFERS


def test_table_shape():
    t = f.table([f.key_freqs([5], [14], [0])])
    assert set(t["claims"][0]) == {"id", "study", "measured", "verdict"}
