import pytest

from miiii.config import Config, ConfigError, parse_overrides, preset, primes_below


def test_primes_below():
    assert primes_below(20) == (2, 3, 5, 7, 11, 13, 17, 19)
    assert primes_below(3) == (2,)


@pytest.mark.parametrize("items, param", [
    (["bogus=1"], "bogus"),
    (["p=abc"], "p"),
    (["p=2"], "p"),
    (["train_frac=0"], "train_frac"),
    (["train_frac=1.5"], "train_frac"),
    (["p=11", "mask=4"], "mask"),
    (["p=11", "mask=13"], "mask"),
    (["lambda=-1"], "lambda"),
    (["alpha=1"], "alpha"),
    (["alpha=-0.1"], "alpha"),
    (["d_model=30", "n_heads=4"], "d_model"),
    (["filter=sgd"], "filter"),
    (["filter=ema3", "alpha=0.9", "alpha_mid=0.95"], "alpha_mid"),  # the middle band must be the faster EMA
    (["alpha_mid=1"], "alpha_mid"),
    (["lambda_mid=nan"], "lambda_mid"),
    (["task=foo"], "task"),
    (["p=3.5"], "p"),
    (["epochs=1,2"], "epochs"),  # not a varying parameter
    (["seed=1,1"], "seed"),  # repeated values
    (["p"], "p"),
])
def test_bad_input_names_the_parameter(items, param):
    with pytest.raises(ConfigError) as e:
        parse_overrides(preset("smoke"), items)
    assert param in str(e.value)
    assert "\n" not in str(e.value)


def test_grid_is_the_full_product():
    g = parse_overrides(preset("smoke"), ["seed=0,1,2,3", "lambda=0,0.5"])
    runs = g.runs
    assert len(runs) == 8
    assert {(r.seed, r.lambda_) for r in runs} == {(s, lam) for s in range(4) for lam in (0.0, 0.5)}
    assert g.varying == ["seed", "lambda"]


def test_mask_lists_and_fractions():
    g = parse_overrides(preset("smoke"), ["mask=2,3;5;none", "weight_decay=1/3"])
    assert [r.mask for r in g.runs] == [(2, 3), (5,), ()]
    assert g.base.weight_decay == pytest.approx(1 / 3)


def test_roundtrip_through_json_dict():
    g = parse_overrides(preset("smoke"), ["seed=0,1", "mask=2;3"])
    from miiii.config import Grid
    assert Grid.from_dict(g.to_dict()).runs == g.runs
    assert Config.from_dict(g.base.to_dict()) == g.base


def test_lambda_external_name():
    c = Config.make(**{"lambda": 2.0})
    assert c.lambda_ == 2.0 and c.to_dict()["lambda"] == 2.0


def test_masked_task_masks_small_primes():
    c = Config.make(task="masked", p=13)
    assert c.loss_mask == (2, 3, 5, 7)
    with pytest.raises(ConfigError, match="mask"):
        Config.make(task="masked", p=11)  # only 2, 3, 5, 7: nothing left in the loss
    with pytest.raises(ConfigError, match="mask"):
        Config.make(p=5, mask=(2, 3))  # nothing left in the loss


def test_paper_preset_is_the_study():
    c = preset("paper")
    assert (c.p, c.d_model, c.n_heads, c.lr, c.dropout, c.lambda_, c.epochs) == (113, 256, 4, 3e-4, 0.1, 0.5, 65536)
    assert c.weight_decay == pytest.approx(1 / 3)
