import pytest

from miiii.config import ConfigError, preset
from miiii.pipelines import fidelity as f
from miiii.pipelines.reproduce import SEEDS, claims, fidelity_figures, fidelity_html, group, run_set

QS = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31]
N = None  # a censored grok time

# ---- each rule gives each verdict it can give ------------------------------------------------


def _good_order(k: int = 0) -> list[int]:
    return [1 + k, 2 + k, 4 + k, 8 + k, 20, 21, 22, 23, 25, 30, 31]


def test_grok_order():
    good = [_good_order(k) for k in range(5)]
    assert f.grok_order(QS, good).verdict == f.REPRODUCED
    # the trend holds, but 2 < 3 < 5 < 7 does not (3 before 2) and 7 groks after q = 11
    swapped = [[2 + k, 1 + k, 4 + k, 30 + k, 20, 21, 22, 23, 25, 30, 31] for k in range(5)]
    c = f.grok_order(QS, swapped)
    assert c.verdict == f.PARTLY and c.p < 0.05 and c.n == 5
    backwards = [list(range(40, 29, -1)) for _ in range(5)]
    c = f.grok_order(QS, backwards)
    assert c.verdict == f.DIFFERS and c.reason == "opposite"
    up = list(range(1, 12))  # two seeds in order, two reversed, one shuffled: neither way
    assert f.grok_order(QS, [up, up, up[::-1], up[::-1], [6, 1, 10, 3, 8, 5, 2, 11, 4, 9, 7]]).verdict == f.INCONCLUSIVE
    assert f.grok_order([2, 3, 5], [[1, 2, 3]] * 5).reason == "size"
    assert f.grok_order(QS, [[N] * len(QS)] * 5).reason == "budget"


def _part(claim, prefix):
    return next(p for p in claim.parts if p.name.startswith(prefix))


def test_grok_order_is_decided_by_censoring():
    qs = QS[:8]
    # t(7) censored, t(5) finite: 5 before 7 by the censoring rule, so the order holds in every seed
    holds = [[1, 2, 4, N, N, N, N, N]] * 5
    c = f.grok_order(qs, holds)
    assert _part(c, "2 < 3").status == f.HOLDS and "5/5" in _part(c, "2 < 3").note
    # t(3) censored while t(5) is finite: the order fails, censoring decides it
    fails = [[1, N, 4, 8, N, N, N, N]] * 5
    assert _part(f.grok_order(qs, fails), "2 < 3").status == f.FAILS
    # t(5) and t(7) both censored: undetermined in every seed, so nothing to count
    open_ = [[1, 2, N, N, N, N, N, N]] * 5
    p = _part(f.grok_order(qs, open_), "2 < 3")
    assert p.status == f.OPEN and "5 undetermined" in p.note
    # "before every q > 7" with most seeds undetermined does not hold on the one decided seed
    few = [[1, 2, 4, 8, N, N, N, N]] + [[1, 2, 4, N, N, N, N, N]] * 4
    p = _part(f.grok_order(qs, few), "2, 3, 5, 7 before")
    assert p.status == f.OPEN and "most seeds undetermined" in p.note


def test_others_late():
    seeds = [[1, 2, 4, 8, 20, 20, 21, 22, 25, 30, 31]] * 5
    assert f.others_late(QS, seeds).verdict == f.REPRODUCED
    spread = [[1, 2, 4, 8, 9, 20, 21, 22, 25, 30, 100]] * 5
    assert f.others_late(QS, spread).verdict == f.PARTLY  # later, not together
    early = [[100, 100, 100, 100, 9, 10, 11, 50, 50, 60, 70]] * 5
    assert f.others_late(QS, early).verdict == f.DIFFERS
    assert f.others_late(QS, [[1, 2, 4, 8] + [N] * 7] * 5).reason == "budget"
    assert f.others_late([2, 3, 5, 7], [[1, 2, 3, 4]] * 5).reason == "size"
    assert f.others_late(QS, seeds[:3]).reason == "size"  # a sign test over 3 seeds cannot reach 0.05
    # at p = 113 the timing part joins: grokking around 20-30 is not around 40,000
    assert f.others_late(QS, seeds, p=113).verdict == f.PARTLY
    # censored q > 7: "together" fails only when the censoring point is past twice the first one
    partial = [[1, 2, 4, 8, 20, 21, N, N, N, N, N]] * 5
    assert _part(f.others_late(QS, partial, budget=1000), "together").status == f.FAILS
    assert _part(f.others_late(QS, partial, budget=30), "together").status == f.OPEN
    assert f.others_late(QS, seeds[:3] + early[:2]).verdict == f.INCONCLUSIVE  # 3 of 5 either way
    censored = [[1, 2, N, N, 20, N, N, N, N, N, N], [1, N, N, N, N, 30, N, N, N, N, N]] * 2 + [seeds[0]]
    c = f.others_late(QS, censored)  # medians censored on both sides in 4 seeds: undetermined, not failures
    assert c.verdict == f.UNTESTABLE and c.reason == "budget" and "4 seed(s) undetermined" in c.measured


def test_pos_corr():
    assert f.pos_corr("miiii", -0.64, [-0.5, -0.7, -0.6, -0.8, -0.55]).verdict == f.REPRODUCED
    assert f.pos_corr("miiii", -0.64, [-0.1, -0.12, -0.09, -0.11, -0.1]).verdict == f.PARTLY  # sign, not value
    c = f.pos_corr("miiii", -0.64, [-0.87, -0.56, 0.52, 0.32, 0.03])  # the audit's case: holds -0.64 and 0
    assert c.verdict == f.INCONCLUSIVE and all(p.status == f.OPEN for p in c.parts)
    c = f.pos_corr("nanda", 0.95, [-0.3, -0.2, -0.4, -0.35, -0.25])
    assert c.verdict == f.DIFFERS and c.reason == "opposite"
    c = f.pos_corr("nanda", 0.95, [0.3, -0.2, 0.1, 0.05, 0.2])  # sign open, 0.95 excluded
    assert c.verdict == f.DIFFERS and c.reason == "excluded"
    assert f.pos_corr("nanda", 0.95, [0.3, 0.2, 0.5]).verdict == f.PARTLY  # positive, far below 0.95
    assert f.pos_corr("nanda", 0.95, [0.9]).reason == "size"
    assert f.pos_corr("nanda", 0.95, [None]).verdict == f.UNTESTABLE


def test_pos_corr_contrast():
    c = f.pos_corr_contrast([0.9, 0.95, 0.97, 0.92, 0.9], [-0.6, -0.7, -0.5, -0.65, 0.1])
    assert c.verdict == f.REPRODUCED and c.p == pytest.approx(1 / 252) and c.n == 10
    assert c.interval[1] == 1.0 and c.interval[0] < 0.9  # not collapsed to [1, 1]
    assert f.pos_corr_contrast([-0.9] * 5, [0.5] * 5).verdict == f.DIFFERS
    assert f.pos_corr_contrast([0.1, 0.5, -0.2, 0.3, 0.0], [0.2, -0.1, 0.4, 0.0, 0.3]).verdict == f.INCONCLUSIVE
    assert f.pos_corr_contrast([0.9, 0.9], [-0.5, -0.5]).reason == "size"


def test_attention_digits():
    one = [["x0", "x1", "x1", "x0"]] * 5
    assert f.attention_digits(one).verdict == f.REPRODUCED
    assert f.attention_digits([["x0", "x1", "x1", "both"]] * 5).verdict == f.PARTLY  # most, not every head
    assert f.attention_digits([["both", "both", "x0", "both"]] * 5).verdict == f.DIFFERS
    assert f.attention_digits([["x0", "x0", "x0", "x0"]] * 5).verdict == f.PARTLY  # x1 never read
    mixed = [["x0", "x1", "x1", "x0"]] * 3 + [["both", "both", "x0", "both"]] * 2
    assert f.attention_digits(mixed).verdict == f.INCONCLUSIVE
    assert f.attention_digits([]).reason == "size"
    assert f.attention_digits(one[:3]).reason == "size"


def _four(n_eff: float, n_key: int) -> dict:
    return {"n_eff": n_eff, "n_key": n_key}


def test_key_freqs():
    nanda = [_four(3 + k / 10, 5) for k in range(5)]
    miiii = [_four(8 + k / 10, 9) for k in range(5)]
    basis = [_four(10, 0)] * 3
    assert f.key_freqs(nanda, miiii, basis).verdict == f.REPRODUCED
    assert f.key_freqs(nanda, miiii, [_four(10, 2)] * 3).verdict == f.PARTLY
    # judged on the number of key frequencies, not N_eff: a spread-out W_E with few keys is not "more"
    c = f.key_freqs(nanda, [_four(11, 4) for _ in range(5)], basis)
    assert _part(c, "miiii has more").status == f.FAILS
    # the range can fail: 20 key frequencies is not "≈ 5"
    c = f.key_freqs([_four(9, 20)] * 5, nanda, [_four(10, 2)] * 3)
    assert c.verdict == f.DIFFERS and _part(c, "nanda has").status == f.FAILS
    spread = [_four(3, k) for k in (2, 4, 5, 6, 9)]  # the median's interval [2, 9] crosses the range
    assert _part(f.key_freqs(spread, miiii, basis), "nanda has").status == f.OPEN
    c = f.key_freqs([_four(3, k) for k in (3, 6, 4, 5, 3)], [_four(8, k) for k in (6, 4, 6, 5, 6)], [])
    assert c.verdict == f.PARTLY and _part(c, "miiii has more").status == f.OPEN  # the audit's: p = 0.10
    assert f.key_freqs([], miiii, basis).reason == "size"


def test_median_interval():
    assert f.median_interval([3, 1, 2, 5, 4]) == (1, 5)  # n = 5: [min, max], 93.75 %
    assert f.median_interval(list(range(1, 9))) == (1, 8)  # n = 8: [x(2), x(7)] covers only 93 %
    assert f.median_interval(list(range(1, 11))) == (2, 9)  # n = 10: 97.9 %


def test_omega_spike():
    e = [0, 256, 1024, 4096, 16384, 65536]
    spike = [[0, 0, 0, 10, 18, 10]] * 5
    c = f.omega_spike(e, spike)
    assert c.verdict == f.REPRODUCED and c.p == pytest.approx(1 / 32)
    assert f.omega_spike(e, spike[:4] + [[20, 15, 10, 5, 2, 1]]).verdict == f.INCONCLUSIVE  # 4/5: p = 6/32
    assert f.omega_spike(e, [[0] * 6] * 5).verdict == f.DIFFERS
    # the baseline is not epoch 0's trivial zero: a count already at its peak at epoch 256 does not rise
    assert f.omega_spike(e, [[0, 18, 17, 17, 16, 10]] * 5).verdict == f.DIFFERS
    assert f.omega_spike(e, spike, grokked=False).reason == "budget"
    assert f.omega_spike(e, spike[:2]).reason == "size"
    assert f.omega_spike(e[:2], [[0, 1]] * 5).reason == "size"
    assert f.omega_spike(e, [[0, 11, 11, 11, 11, 11]] * 5, n_freqs=11).reason == "saturation"
    qs = [2, 3, 5, 7, 11]
    while_ = [[10, 20, 100, 4000, 30000]] * 5  # the peak (16,384) between 4,000 / 4 and 30,000
    assert f.omega_spike(e, spike, qs, while_).verdict == f.REPRODUCED
    late = [[10, 20, 100, 200_000, 300_000]] * 5  # q >= 7 groks long after the peak: / 4 is 50,000
    assert _part(f.omega_spike(e, spike, qs, late), "peak while").status == f.FAILS
    none_ = [[10, 20, 100, N, N]] * 5  # no q >= 7 grokked: the timing is undetermined
    c = f.omega_spike(e, spike, qs, none_)
    assert c.verdict == f.PARTLY and "5 undetermined" in _part(c, "peak while").note


def test_lambda_zero():
    full, none_ = [[1, 2, 3]] * 5, [[1, N, N]] * 5
    assert f.lambda_zero(full, none_).verdict == f.REPRODUCED
    assert f.lambda_zero(full, [[1, 2, 3]] * 5).reason == "size"  # all tied: no split reaches 0.05
    mixed = [[1, 2, 3], [1, 2, N]] * 2 + [[1, 2, 3]]
    assert f.lambda_zero(mixed, mixed[::-1]).verdict == f.INCONCLUSIVE  # neither way
    # the audit's case: λ = 0 grokked MORE; "λ = 0 leaves a sub-task ungrokked" holds for λ > 0 too
    counts_a, counts_b = [3, 4, 3, 3, 3], [4, 5, 3, 7, 6]
    a = [[1] * k + [N] * (8 - k) for k in counts_a]
    b = [[1] * k + [N] * (8 - k) for k in counts_b]
    c = f.lambda_zero(a, b)
    assert c.verdict == f.DIFFERS and c.reason == "opposite" and c.p_min < 0.05
    assert _part(c, "λ = 0 leaves").status == f.CONTROL and _part(c, "fewer").status == f.FAILS
    a, b = [[1, 2, N], [1, N, N]] * 2 + [[1, 2, N]], [[1, N, N], [1, 2, N]] * 2 + [[1, N, N]]
    c = f.lambda_zero(a, b)  # neither more nor fewer, and both leave a sub-task ungrokked everywhere
    assert c.verdict == f.INCONCLUSIVE and _part(c, "λ = 0 leaves").status == f.CONTROL
    assert f.lambda_zero([[N, N]] * 5, [[N, N]] * 5).reason == "budget"
    assert f.lambda_zero(full, []).reason == "size"


def test_dropout_zero():
    qs = [2, 3, 5, 7]
    base = [[5, 9, 30, 40]] * 5
    over = [[5, 9, N, N]] * 5
    ones = [[1.0] * 4] * 5
    assert f.dropout_zero(qs, base, over, ones, ones).verdict == f.REPRODUCED
    assert f.dropout_zero(qs, base, [[N, N, N, N]] * 5, ones).verdict == f.PARTLY  # q = 2, 3 do not grok
    assert f.dropout_zero(qs, base, base, ones).reason == "size"  # all tied: the main test cannot reach 0.05
    c = f.dropout_zero(qs, [[5, 9, 30, N]] * 5, [[N, N, 30, 40]] * 5, ones)  # more q >= 5 without dropout
    assert c.verdict == f.DIFFERS and c.reason == "opposite"
    # the control overfits too (every q >= 5 ungrokked with dropout > 0 in most seeds): not counted
    most = [[5, 9, 30, N]] + [[5, 9, N, N]] * 9  # 9 of 10: the control overfits significantly too
    c = f.dropout_zero(qs, most, over * 2, ones * 2, ones * 2)
    assert _part(c, "every q ≥ 5").status == f.CONTROL
    assert f.dropout_zero(qs, [[5, 9, N, N]] * 5, over, ones).reason == "budget"
    assert f.dropout_zero([2], [[5]], [[5]], [[1.0]]).reason == "size"


def test_masked_first():
    g = [N, N, N, N, 10, 12, 15, 20, 40, 45, 50]
    assert f.masked_first(QS, [g] * 3).verdict == f.REPRODUCED  # against chance 1/35, 3 seeds suffice
    g2 = [N, N, N, N, 10, 12, 15, 60, 40, 45, 50]
    assert f.masked_first(QS, [g2] * 6).verdict == f.DIFFERS  # 0 of 6: significantly rarer than half
    assert f.masked_first(QS, [g] + [g2] * 5).verdict == f.INCONCLUSIVE  # 1 of 6: neither
    censored = [N, N, N, N, 10, 12, 15, 20, N, N, N]  # the later q censored: 11 … 19 first, by censoring
    assert f.masked_first(QS, [censored] * 6).verdict == f.REPRODUCED
    both = [N, N, N, N, 10, 12, 15, N, N, N, N]  # q = 19 and every later q censored: undetermined
    c = f.masked_first(QS, [both] * 6)
    assert c.verdict == f.UNTESTABLE and c.reason == "budget" and "6 undetermined" in c.measured
    c = f.masked_first(QS[:8], [g[:8]] * 3)  # p = 23: the loss holds only q = 11 ... 19
    assert c.verdict == f.UNTESTABLE and c.reason == "size" and c.p is None
    assert f.masked_first(QS, [[N] * len(QS)] * 3).reason == "budget"
    assert f.masked_first(QS, []).reason == "size"


def test_masked_speedup():
    qs = QS[:8]
    miiii = [[1, 2, 4, 8, 900, 1000, 1100, 1200]] * 5
    fast = [[N, N, N, N, 100, 110, 120, 130]] * 3
    c = f.masked_speedup(qs, miiii, fast)
    assert c.verdict == f.REPRODUCED and c.n == 8 and c.p == pytest.approx(1 / 56)
    slow = [[N, N, N, N, 5000, N, N, N]] * 3
    assert f.masked_speedup(qs, miiii, slow).verdict == f.DIFFERS
    # the audit's case: six of eight medians censored, the most extreme arrangement reaches only 0.107
    c = f.masked_speedup(qs, [[1, 2, 4, 8, N, N, N, N]] * 5,
                         [[N, N, N, N, 7454, 7454, 7454, N], [N] * 8, [N, N, N, N, 2048, 2048, 2048, N]])
    assert c.verdict == f.UNTESTABLE and c.reason == "size" and c.p_min == pytest.approx(6 / 56)
    mixed = [[N, N, N, N, 100, 110, 120, 130], [N, N, N, N, 2000, 2100, 2200, 2300]] * 3
    assert f.masked_speedup(qs, [[1, 2, 4, 8, 900, 1000, 1100, 1200]] * 6, mixed).verdict == f.INCONCLUSIVE
    assert f.masked_speedup(qs, [[1, 2, 4, 8, N, N, N, N]] * 5, [[N] * 8] * 3).reason == "budget"
    assert f.masked_speedup(qs[:4], miiii, fast).reason == "size"
    assert f.masked_speedup(qs, miiii, []).reason == "size"
    assert f.masked_speedup(qs, miiii[:2], fast[:2]).reason == "size"


def test_every_verdict_is_one_of_five_and_serialises():
    c = f.key_freqs([_four(3, 5)] * 5, [_four(8, 9)] * 5, [_four(10, 0)])
    d = f.table([c])["claims"][0]
    assert {"id", "study", "measured", "verdict", "n", "p"} <= set(d) and d["verdict"] in f.VERDICTS
    assert d["n"] == 10 and isinstance(d["p"], float) and len(d["interval"]) == 2
    assert {"part", "status", "comparison"} <= set(d["parts"][0]) and "p_min" in d
    assert set(f.table([c])["definitions"]["verdicts"]) == set(f.VERDICTS)


# ---- the run set and the entry point --------------------------------------------------------


def test_run_set_seeds_and_splits():
    for preset_name in ("long", "paper"):
        sets = run_set(preset_name)
        grid, roles = sets["main"]
        by: dict[str, list] = {}
        for role, cfg in zip(roles, grid.runs):
            by.setdefault(group(role), []).append(cfg)
        contrast = next(k for k in by if k.startswith("miiii lambda="))  # GrokFast against none
        assert {by[contrast][0].lambda_, by["miiii"][0].lambda_} in ({0.0, 0.5}, {0.0, preset(preset_name).lambda_})
        for name in ("miiii", contrast, "dropout=0"):
            assert len(by[name]) >= 8
            assert len({c.split_seed for c in by[name]}) == len(by[name])
            assert all(c.split_seed == c.seed for c in by[name])
        assert len(by["masked"]) >= 6 and len(by["basis"]) >= 3
        assert len({c.lambda_ for c in by[contrast]}) == 1 and all(c.dropout == 0 for c in by["dropout=0"])
        assert "split_seed" in grid.varying
        ngrid, nroles = sets["nanda"]
        assert len(ngrid.runs) >= 8 and nroles[4] == "nanda seed 4"
        assert len({c.split_seed for c in ngrid.runs}) == len(ngrid.runs)
    quick = run_set("quick")  # the roles that fit 20 minutes: miiii and nanda x 5, basis x 3
    assert quick["main"][1] == [f"miiii seed {s}" for s in range(5)] + [f"basis seed {s}" for s in range(3)]
    assert len(quick["nanda"][1]) == 5
    assert "dropout=0 seed 2" in run_set("long")["main"][1]
    assert preset("long") == preset("quick")  # long: quick's model and budget, every role
    assert SEEDS["smoke"]["miiii"] == SEEDS["smoke"]["nanda"] == 2  # smoke: fewer, to keep tests fast


def test_overrides_change_every_run_but_not_the_roles():
    sets = run_set("quick", {"init": "study", "dropout_mask": "batch", "readout": "first"})
    runs = sets["main"][0].runs + sets["nanda"][0].runs
    assert {(c.init, c.dropout_mask, c.readout) for c in runs} == {("study", "batch", "first")}
    assert {c.task for c in runs} == {"miiii", "basis", "nanda"}
    for key in ("lambda", "dropout", "seed", "split_seed", "task"):
        with pytest.raises(ConfigError, match=key):
            run_set("quick", {key: 0})
    with pytest.raises(ConfigError, match="init"):
        run_set("quick", {"init": "glorot"})


def _run(grok, corr=-0.6, reads=("x0", "x1"), n_eff=8.0, n_key=9, train=None):
    return {"grok_epoch": grok, "pos_emb_corr": corr, "attention": {"reads": list(reads)},
            "fourier": {"n_eff": n_eff, "n_key": n_key}, "final_train_acc": train or [1.0] * len(grok),
            "omega": {"epochs": [0, 1, 2, 3], "count_calibrated": [0, 3, 5, 1]}, "config": {"p": 23}}


def test_claims_entry_point_and_html():
    qs = QS[:8]
    roles, runs = [], []
    for name, n in (("miiii", 5), ("miiii lambda=0", 5), ("dropout=0", 5), ("masked", 3), ("basis", 3)):
        for s in range(n):
            roles.append(f"{name} seed {s}")
            runs.append(_run([1, 2, 4, 8, 20, 21, 22, 23] if name == "miiii" else [1, 2, N, N, N, N, N, N]))
    runs[-1] = {k: v for k, v in runs[-1].items() if k not in ("fourier", "pos_emb_corr", "attention")}  # diverged
    main = {"subtasks": qs, "p": 23, "runs": runs}
    nanda = {"subtasks": [23], "runs": [_run([5], 0.9, n_eff=3.0, n_key=5) for _ in range(5)]}
    out = claims(main, roles, nanda)
    ids = [c.id for c in out]
    assert len(set(ids)) == len(ids) == 12 and all(c.verdict in f.VERDICTS for c in out)
    by = {c.id: c for c in out}
    assert by["masked_first"].reason == "size" and by["lambda_zero"].verdict == f.REPRODUCED
    page = fidelity_html(out, "quick", 1.0)
    for colour in ("#1a7f37", "#9a6700", "#b42318", "#57606a"):
        assert colour in page or colour not in {c.verdict for c in out}
    assert "masked_speedup" in page and "<th>p</th>" in page
    # a role the preset leaves out for time: its claims are not judged, whatever the runs say
    cut = {c.id: c for c in claims(main, roles, nanda, frozenset({"masked", "miiii lambda=0"}))}
    for id_ in ("lambda_zero", "masked_first", "masked_speedup"):
        assert cut[id_].verdict == f.UNTESTABLE and cut[id_].reason == "budget" and "--preset long" in cut[id_].measured
    assert cut["dropout_zero"] == by["dropout_zero"] and cut["grok_order"] == by["grok_order"]


def test_fidelity_html_shows_the_figures_under_the_table():
    qs = QS[:8]
    roles, runs = [], []
    for name, n in (("miiii", 5), ("masked", 3)):  # the other roles absent, as at a preset that leaves them out
        for s in range(n):
            roles.append(f"{name} seed {s}")
            runs.append(_run([1, 2, 4, 8, 20, 21, 22, N] if name == "miiii" else [N, N, N, N, 5, 6, 7, 8]))
    runs[1] = {k: v for k, v in runs[1].items() if k not in ("fourier", "pos_emb_corr", "attention")}  # diverged
    main = {"subtasks": qs, "p": 23, "epoch": 64, "runs": runs}
    nanda = {"subtasks": [23], "runs": [_run([5], 0.9) for _ in range(5)]}
    figures = fidelity_figures(main, roles, nanda)
    assert len(figures) == 3 and all(png[:4] == b"\x89PNG" for _, png in figures)
    page = fidelity_html(claims(main, roles, nanda), "quick", 1.0, figures=figures)
    assert page.count("<img") == 3 and page.count("data:image/png;base64,") == 3
    assert page.index("</table>") < page.index("<img")  # under the table
    for id_ in ("grok_order", "masked_speedup", "lambda_zero", "dropout_zero", "pos_corr_nanda", "pos_corr_miiii",
                "omega_spike"):
        assert f"{id_}" in page.split("</table>")[1]  # a caption names each claim it illustrates
    assert "<img" not in fidelity_html(claims(main, roles, nanda), "quick", 1.0)  # figures stay optional
    # no miiii seeds and no correlation anywhere: only the grok times are drawn
    bare = {"subtasks": qs, "p": 23, "epoch": 64, "runs": runs[5:]}
    assert len(fidelity_figures(bare, roles[5:], {"runs": [{"grok_epoch": [5]}]})) == 1


def test_a_preset_without_grokfast_contrasts_the_studys_lambda():
    """With lambda = 0 in the preset, the GrokFast role trains the study's lambda = 0.5, and
    lambda_zero compares those (with the filter) against the preset's seeds (without it)."""
    roles = run_set("long")["main"][1]
    name = "miiii lambda=0 seed 0" if preset("long").lambda_ > 0 else "miiii lambda=0.5 seed 0"
    assert name in roles
    qs = QS[:8]
    runs, rl = [], []
    for role, g in (("miiii", [1, 2, 4, 8, N, N, N, N]), ("miiii lambda=0.5", [1, 2, 4, 8, 20, 21, 22, 23])):
        for s_ in range(5):
            rl.append(f"{role} seed {s_}")
            runs.append(_run(g))
    main = {"subtasks": qs, "p": 23, "runs": runs}
    nanda = {"subtasks": [23], "runs": [_run([5], 0.9, n_eff=3.0, n_key=5) for _ in range(5)]}
    c = {x.id: x for x in claims(main, rl, nanda)}["lambda_zero"]
    assert c.verdict == f.REPRODUCED and "λ > 0 [8, 8, 8, 8, 8], λ = 0 [4, 4, 4, 4, 4]" in c.measured
