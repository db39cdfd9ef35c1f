import math

from miiii.pipelines import stats as st
from miiii.pipelines import verdicts as v

INF = math.inf


def test_before_decides_order_wherever_censoring_does():
    assert v.before(5, INF) is True  # a censored t(7) is after a finite t(5)
    assert v.before(INF, 5) is False
    assert v.before(INF, INF) is None  # both censored: undetermined, not a failure
    assert v.before(4, 4) is None  # a tie at the logging resolution
    assert v.chain([True, True, None]) is None and v.chain([True, False, None]) is False
    assert v.chain([True, True]) is True
    assert v.count_text([True, None, False, True]) == "2/3 seeds (1 undetermined)"


def _p(status):
    return v.Part("x", status)


def test_verdict_of_the_counted_parts():
    H, F, U, C = v.HOLDS, v.FAILS, v.OPEN, v.CONTROL
    assert v.verdict([_p(H), _p(H)]) == v.REPRODUCED
    assert v.verdict([_p(H), _p(C)]) == v.REPRODUCED  # the control part is not counted ...
    assert v.verdict([_p(C)]) == v.INCONCLUSIVE  # ... and alone it supports nothing
    assert v.verdict([_p(H), _p(U)]) == v.PARTLY and v.verdict([_p(H), _p(F)]) == v.PARTLY
    assert v.verdict([_p(U), _p(F)]) == v.DIFFERS and v.verdict([_p(F), _p(C)]) == v.DIFFERS
    assert v.verdict([_p(U), _p(U)]) == v.INCONCLUSIVE


def test_a_part_that_holds_for_the_control_too_does_not_count():
    left = st.sign_flags([True] * 5)  # the variant leaves a sub-task ungrokked in 5/5 ...
    same = st.sign_flags([True] * 5)  # ... and so does the control
    p = v.against_control(v.part("ungrokked", left), same, "λ > 0")
    assert p.status == v.CONTROL and "λ > 0" in p.comparison
    other = st.sign_flags([False] * 5)
    assert v.against_control(v.part("ungrokked", left), other, "λ > 0").status == v.HOLDS


def test_judge_gives_each_verdict_and_the_reasons():
    strong, weak, opposite = st.binomial(5, 5), st.binomial(3, 5), st.binomial(0, 5)
    c = v.judge("x", "s", "m", [v.part("a", strong)], strong)
    assert c.verdict == v.REPRODUCED and c.reason is None and c.p_min == strong.p_min
    assert v.judge("x", "s", "m", [v.part("a", strong), v.part("b", weak)], strong).verdict == v.PARTLY
    c = v.judge("x", "s", "m", [v.part("a", opposite)], opposite)
    assert c.verdict == v.DIFFERS and c.reason == "opposite"
    c = v.judge("x", "s", "m", [v.part("a", weak), v.Part("value", v.FAILS, kind="interval")], weak)
    assert c.verdict == v.DIFFERS and c.reason == "excluded"
    assert v.judge("x", "s", "m", [v.part("a", weak)], weak).verdict == v.INCONCLUSIVE
    tiny = st.mann_whitney([INF] * 5, [7454, INF, 2048])  # the most extreme arrangement: p = 0.107
    c = v.judge("x", "s", "m", [v.part("a", tiny)], tiny)
    assert c.verdict == v.UNTESTABLE and c.reason == "size" and "0.107" in c.measured
    d = c.to_dict()
    assert d["p_min"] == tiny.p_min and d["parts"][0]["status"] == v.OPEN


def test_every_verdict_has_one_definition():
    assert set(v.DEFINITIONS) == set(v.VERDICTS) and set(v.PART_DEFINITIONS) == set(v.STATUSES)
