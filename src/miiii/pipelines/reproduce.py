"""``miiii reproduce``: the study's run set, trained, analysed, and judged claim by claim.

The run set (``docs/study.md``), each role over several seeds (``SEEDS``; seed s uses
split_seed s): ``miiii``, ``miiii`` with lambda = 0, ``miiii`` with dropout 0, ``masked``
(q in {2,3,5,7} out of the loss), ``basis`` and ``nanda``. All but ``nanda`` share every array
shape (``basis`` and ``masked`` differ from ``miiii`` only in targets and loss mask), so they
train as ONE vmapped multi-run in ``DIR/runs/main``; the ``nanda`` seeds (another unembedding
width) train as a second multi-run in ``DIR/runs/nanda``.

Killed, it resumes: each run directory resumes from its newest checkpoint, and finished ones
are only re-analysed. Output: ``DIR/fidelity.json`` and ``DIR/report.html``.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config, ConfigError, Grid, preset
from ..plots import fidelity as draw
from ..plots.style import render
from ..report.html import _img
from ..runner import Progress, train_run
from ..store import RunDir, write_json
from . import fidelity as fid
from .report import load_analysis, write_report
from .verdicts import DEFINITIONS, PART_DEFINITIONS

# Seeds per role. long and paper: 8 of every role a sign test judges (miiii, lambda=0, dropout=0,
# nanda: with 5, only 5/5 reaches p < 0.05, so one seed decides a claim), 6 masked, 3 basis. quick
# keeps the roles of the claims that fit in 20 minutes on an idle 2-core CPU: miiii, nanda and basis;
# the claims about the other roles are "not testable (budget)" there, pointing at ``--preset long``
# (same model and epochs, every role). smoke only tests the pipeline and keeps its end-to-end test
# fast: 2 seeds of miiii and nanda, 1 of the others, so most claims are "not testable (size)" there.
# Seed s also sets the train/validation split: split_seed = s (and basis's shuffle).
SEEDS: dict[str, dict[str, int]] = {
    "smoke": {"miiii": 2, "miiii lambda=0": 1, "dropout=0": 1, "masked": 1, "basis": 1, "nanda": 2},
    "quick": {"miiii": 5, "miiii lambda=0": 0, "dropout=0": 0, "masked": 0, "basis": 3, "nanda": 5},
    "long": {"miiii": 8, "miiii lambda=0": 8, "dropout=0": 8, "masked": 6, "basis": 3, "nanda": 8},
}
SEEDS["paper"] = SEEDS["long"]

# The role each claim compares beyond miiii and nanda: without its runs the claim is not judged.
NEEDS = {"lambda_zero": "miiii lambda=0", "dropout_zero": "dropout=0", "masked_first": "masked",
         "masked_speedup": "masked"}

# The study's positional correlations (docs/study.md), the values the pos_corr_* claims test.
STUDY_POS_CORR = {"nanda": 0.95, "miiii": -0.64}

STUDY_LAMBDA = 0.5  # Table 1's GrokFast lambda (docs/study.md)

# Parameters the run set itself sets per role; ``reproduce``'s overrides may change any other.
ROLE_KEYS = ("task", "seed", "split_seed", "lambda", "dropout")


def group(role: str) -> str:
    """``"miiii lambda=0 seed 3"`` -> ``"miiii lambda=0"``."""
    return role.rsplit(" seed ", 1)[0]


def base_config(preset_name: str, overrides: dict[str, Any] | None = None) -> Config:
    """The preset with ``overrides`` (e.g. the study code's ``init=study``) applied to every run."""
    overrides = dict(overrides or {})
    fixed = [k for k in overrides if Config.external(Config.internal(k)) in ROLE_KEYS]
    if fixed:
        raise ConfigError(f"{', '.join(fixed)}: set by the run set's roles (docs/study.md), not overridable in "
                          f"reproduce; the roles vary {', '.join(ROLE_KEYS)}")
    return preset(preset_name).replace(**overrides)


def run_set(preset_name: str, overrides: dict[str, Any] | None = None) -> dict[str, tuple[Grid, list[str]]]:
    """``name -> (grid, role of each run)`` for a preset: roles are ``"<group> seed <s>"``."""
    base = base_config(preset_name, overrides)
    n = SEEDS.get(preset_name, SEEDS["long"])
    # The GrokFast contrast (SEEDS' "miiii lambda=0"): lambda = 0 against the preset's lambda, or,
    # when the preset itself trains without GrokFast, the study's lambda against it.
    contrast = ("miiii lambda=0", {"lambda": 0.0}) if base.lambda_ > 0 else \
        (f"miiii lambda={STUDY_LAMBDA:g}", {"lambda": STUDY_LAMBDA})
    variants = {"miiii": {}, contrast[0]: contrast[1], "dropout=0": {"dropout": 0.0}}
    if base.p > 7 and len(base.primes) > 4:  # masked needs a prime above 7 left in the loss
        variants["masked"] = {"task": "masked"}
    variants["basis"] = {"task": "basis"}
    runs, roles = [], []
    for name, change in variants.items():
        for s in range(n["miiii lambda=0" if name == contrast[0] else name]):
            runs.append(base.replace(seed=s, split_seed=s, **change))
            roles.append(f"{name} seed {s}")
    nanda = [base.replace(task="nanda", seed=s, split_seed=s) for s in range(n["nanda"])]
    return {"main": (Grid.of_runs(runs), roles),
            "nanda": (Grid.of_runs(nanda), [f"nanda seed {s}" for s in range(n["nanda"])])}


def claims(main: dict[str, Any], roles: list[str], nanda: dict[str, Any],
           left_out: frozenset[str] = frozenset()) -> list[fid.Claim]:
    """Turn the two analyses into the fidelity table (rules in ``pipelines.fidelity``).

    ``left_out``: roles the preset leaves out for time (``SEEDS`` 0); the claims that compare
    them (``NEEDS``) are "not testable (budget)", pointing at ``--preset long``.

    Runs are grouped by role (``group``); a diverged run has no parameter analyses and is left
    out of the claims that need them (``pos_emb_corr``, ``fourier``, ``attention``).
    """
    qs = list(main["subtasks"])
    by: dict[str, list[dict[str, Any]]] = {}
    for role, r in zip(roles, main["runs"]):
        by.setdefault(group(role), []).append(r)
    seeds, nandas = by.get("miiii", []), list(nanda["runs"])
    masked, basis = by.get("masked", []), by.get("basis", [])
    lam0, d0 = by.get("miiii lambda=0", []), by.get("dropout=0", [])
    with_filter = seeds
    if f"miiii lambda={STUDY_LAMBDA:g}" in by:  # a preset without GrokFast: the study's lambda is the variant
        with_filter, lam0 = by[f"miiii lambda={STUDY_LAMBDA:g}"], seeds
    grok = lambda rs: [r["grok_epoch"] for r in rs]  # noqa: E731
    has = lambda rs, key: [r[key] for r in rs if key in r]  # noqa: E731
    p = int(main.get("p") or seeds[0]["config"]["p"])
    budget = main.get("epoch") or max((r["config"].get("epochs", 0) for r in main["runs"] if "config" in r), default=0)
    out = [fid.grok_order(qs, grok(seeds)), fid.others_late(qs, grok(seeds), p, budget or None),
           fid.pos_corr("nanda", STUDY_POS_CORR["nanda"], has(nandas, "pos_emb_corr")),
           fid.pos_corr("miiii", STUDY_POS_CORR["miiii"], has(seeds, "pos_emb_corr")),
           fid.pos_corr_contrast(has(nandas, "pos_emb_corr"), has(seeds, "pos_emb_corr")),
           fid.attention_digits([a["reads"] for a in has(seeds, "attention")]),
           fid.key_freqs(has(nandas, "fourier"), has(seeds, "fourier"), has(basis, "fourier"))]
    # The study's |omega| saturates at small p (every frequency is active in a random model),
    # so the spike is judged on the calibrated count at every logged epoch (measures.omega).
    out.append(fid.omega_spike(seeds[0]["omega"]["epochs"] if seeds else [],
                               [r["omega"]["count_calibrated"] for r in seeds], qs, grok(seeds),
                               any(e is not None for g in grok(seeds) for e in g),
                               "calibrated |ω| (vs untrained models)", p // 2))
    out.append(fid.lambda_zero(grok(with_filter), grok(lam0)))
    out.append(fid.dropout_zero(qs, grok(seeds), grok(d0), [r["final_train_acc"] for r in d0],
                                [r["final_train_acc"] for r in seeds]))
    out.append(fid.masked_first(qs, grok(masked)))
    out.append(fid.masked_speedup(qs, grok(seeds), grok(masked)))
    return [c if NEEDS.get(c.id) not in left_out else fid.Claim(
        c.id, c.study, f"budget: this preset's run set has no {NEEDS[c.id]!r} runs (it does not fit the preset's "
        "time); `miiii reproduce --preset long` trains them", fid.UNTESTABLE, reason="budget") for c in out]


def fidelity_figures(main: dict[str, Any], roles: list[str], nanda: dict[str, Any]) -> list[tuple[str, bytes]]:
    """``(caption, PNG)`` per figure under the fidelity table: the per-seed numbers behind the claims.

    Drawn from the same analyses as ``claims``: grok epochs of every role group of ``main``,
    positional correlation of the nanda and miiii seeds (a diverged run has none: left out),
    calibrated |ω| of the miiii seeds. A figure with nothing to draw (no such runs) is left out.
    """
    by: dict[str, list[dict[str, Any]]] = {}
    for role, r in zip(roles, main["runs"]):
        by.setdefault(group(role), []).append(r)
    seeds, out = by.get("miiii", []), []
    budget = main.get("epoch") or max((r["config"].get("epochs", 0) for r in main["runs"]), default=0) or 1
    grok = {name: [r["grok_epoch"] for r in rs] for name, rs in by.items()}
    if any(grok.values()):
        out.append(("Grok epoch per sub-task q, one dot per seed of each role; hollow on the top row: not grokked "
                    "within the budget. Claims grok_order, others_late, masked_first, masked_speedup, lambda_zero, "
                    "dropout_zero.",
                    draw.grok_times(list(main["subtasks"]), grok, int(budget))))
    corr = {"nanda": [r.get("pos_emb_corr") for r in nanda["runs"]], "miiii": [r.get("pos_emb_corr") for r in seeds]}
    if any(v is not None for vs in corr.values() for v in vs):
        out.append(("Positional correlation r per seed (diverged runs have none), the mean with its 95 % t-interval "
                    "on Fisher z, and the study's value. Claims pos_corr_nanda, pos_corr_miiii, pos_corr_contrast.",
                    draw.pos_corr(corr, STUDY_POS_CORR)))
    om = [(role, r["omega"]) for role, r in zip(roles, main["runs"])
          if group(role) == "miiii" and "count_calibrated" in r.get("omega", {})]
    if om:
        out.append(("Calibrated |ω| (frequencies active in more neurons than in untrained models) per miiii seed "
                    "over the logged epochs. Claim omega_spike.",
                    draw.omega_curves(om[0][1]["epochs"], [o["count_calibrated"] for _, o in om],
                                      [role.removeprefix("miiii ") for role, _ in om])))
    return [(caption, render(f, ("png",))["png"]) for caption, f in out]  # PNG: what the page embeds


def figures_html(figures: list[tuple[str, bytes]]) -> str:
    """The fidelity section's figures, one per row (the grok-time strip is wide), with captions."""
    return "".join(f"<figure style='max-width:1200px;margin:1em 0'><img alt='{html.escape(c.split('.')[0])}' "
                   f"src='{_img(png)}'><figcaption>{html.escape(c)}</figcaption></figure>" for c, png in figures)


COLOURS = {fid.REPRODUCED: "#1a7f37", fid.PARTLY: "#9a6700", fid.DIFFERS: "#b42318", fid.INCONCLUSIVE: "#6639ba",
           fid.UNTESTABLE: "#57606a"}


def _num(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def fidelity_html(claims_: list[fid.Claim], preset_name: str, seconds: float,
                  overrides: dict[str, Any] | None = None, figures: list[tuple[str, bytes]] | None = None) -> str:
    """The fidelity section: a one-paragraph summary, the claim table and, under it, ``figures``
    (``fidelity_figures``'s ``(caption, PNG)`` pairs) when given."""

    def row(c: fid.Claim) -> str:
        effect = _num(c.effect, ".2f") + (f" [{c.interval[0]:.2f}, {c.interval[1]:.2f}]" if c.interval else "")
        verdict = c.verdict + (f" ({c.reason})" if c.reason else "")
        cells = [c.id, c.study, c.measured, c.test or "—", effect, str(c.n), _num(c.p, ".3g")]
        return ("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in cells)
                + f"<td style='color:{COLOURS[c.verdict]};font-weight:600'>{html.escape(verdict)}</td></tr>")

    n = {v: sum(c.verdict == v for c in claims_) for v in COLOURS}
    changed = "".join(f", {html.escape(k)}={html.escape(str(v))}" for k, v in (overrides or {}).items())
    return (f"<p>Preset <b>{html.escape(preset_name)}</b>{changed}, trained and analysed in {seconds:.0f} s. "
            f"{n[fid.REPRODUCED]} reproduced, {n[fid.PARTLY]} partly, {n[fid.DIFFERS]} differ, "
            f"{n[fid.INCONCLUSIVE]} inconclusive, "
            f"{n[fid.UNTESTABLE]} not testable at this preset. Each verdict is decided by the test stated "
            "beforehand in <code>miiii/pipelines/fidelity.py</code> (docs/study.md, claims and their tests): "
            "α = 0.05, one-sided in the study's direction; the effect is the main test's, with its 95 % "
            "interval; n counts the runs; p_min is the smallest p its test can reach on the values observed.</p>"
            "<table><tr><th>claim</th><th>study</th><th>measured</th><th>test</th><th>effect [95 %]</th>"
            f"<th>n</th><th>p</th><th>verdict</th></tr>{''.join(row(c) for c in claims_)}</table>"
            + definitions_html() + figures_html(figures or []))


def definitions_html() -> str:
    """The five verdicts and four part statuses, one definition each (``pipelines.verdicts``)."""
    item = lambda k, v: f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"  # noqa: E731
    return ("<p>Verdicts:</p><ul>" + "".join(item(k, v) for k, v in DEFINITIONS.items())
            + "</ul><p>Parts:</p><ul>" + "".join(item(k, v) for k, v in PART_DEFINITIONS.items()) + "</ul>")


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def _previous_timing(path: Path, sets: dict[str, tuple[Grid, list[str]]]) -> dict[str, float]:
    """Per run directory, the analysis seconds an earlier ``reproduce`` of the same run set recorded."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if old.get("runs") != {n: roles for n, (_, roles) in sets.items()}:
        return {}
    return {k: float(v) for k, v in old.get("analysis_seconds_by_dir", {}).items()}


def rejudge(out: str | Path) -> dict[str, Any]:
    """Judge a finished reproduction again from its ``analysis.json`` files alone (no training, no
    analysis, no figures): what a change of the rules needs. Keeps the timing and the run set
    recorded in ``out/fidelity.json``; rewrites only that file."""
    out = Path(out)
    path = out / "fidelity.json"
    if not path.exists():
        raise ConfigError(f"--out: {out} has no fidelity.json to judge again (run `miiii reproduce` first)")
    old = json.loads(path.read_text())
    if not old.get("complete"):
        raise ConfigError(f"--out: {out}/fidelity.json is incomplete; run `miiii reproduce` to finish it first")
    analyses = {}
    for name in old["runs"]:
        a = out / "runs" / name / "analysis" / "analysis.json"
        if not a.exists():
            raise ConfigError(f"--out: {a} is missing; run `miiii reproduce` to analyse it")
        analyses[name] = json.loads(a.read_text())
    roles = old["runs"]["main"]
    left_out = frozenset(role for role, k in SEEDS.get(old["preset"], SEEDS["long"]).items() if k == 0)
    rows = claims(analyses["main"], roles, analyses["nanda"], left_out)
    doc = {k: v for k, v in old.items() if k not in ("claims", "definitions")} | fid.table(rows)
    write_json(path, doc)
    return doc


def reproduce(preset_name: str, out: str | Path, log: Callable[[str], None] | None = None,
              progress: Callable[[int], Progress | None] | None = None,
              budget_seconds: float | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (or resume, or reuse), analyse and judge the run set of a preset under ``out``.

    ``overrides`` (parameter -> value, e.g. ``{"init": "study"}``) change every run of the set;
    the roles' own parameters (``ROLE_KEYS``) cannot be overridden.

    ``log`` receives one line per stage; ``progress(total_epochs)`` makes a per-run-directory
    training progress callback. Nothing is printed here. With ``budget_seconds``, training
    stops at the chunk boundary after the budget (state saved: re-running resumes); a run
    directory that did not finish is reported as incomplete, with the epoch it reached, and no
    claim is judged on it -- never "grokked" or "not grokked" from a run cut short.
    """
    say = log or (lambda line: None)
    out = Path(out)
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    overrides = dict(overrides or {})
    sets = run_set(preset_name, overrides)
    for name, (grid, _) in sets.items():  # refuse a foreign or broken directory before training
        RunDir(out / "runs" / name).check_compatible(grid)
    train_s, analyse_s = 0.0, 0.0
    previous = _previous_timing(out / "fidelity.json", sets)
    by_dir: dict[str, float] = {}
    analyses: dict[str, Any] = {}
    reached: dict[str, int] = {}
    for name, (grid, roles) in sets.items():
        rd = out / "runs" / name
        say(f"training {name}: {len(roles)} run(s) ({', '.join(roles)})")
        summary = train_run(grid, str(rd), progress=progress(grid.base.epochs) if progress else None,
                            deadline=deadline)
        if not summary["complete"]:
            reached[name] = summary["epochs_reached"]
            train_s += summary["seconds"]
            say(f"{name}: out of budget at epoch {reached[name]} of {grid.base.epochs}; re-run to resume")
            continue
        train_s += summary["runs"][0]["seconds"]  # wall time of the multi-run, across resumes
        reached[name] = summary["epochs"]
        say(f"analysing {name}")
        t0 = time.perf_counter()
        stamp = _mtime(rd / "analysis" / "analysis.json")
        analyses[name] = load_analysis(rd)  # a finished, analysed directory is reused as it is
        took = time.perf_counter() - t0
        # a reused analysis keeps the time it took when it was written, not the ~0 s of reading it
        if stamp is not None and stamp == _mtime(rd / "analysis" / "analysis.json") and name in previous:
            took = previous[name]
        by_dir[name] = round(took, 1)
        analyse_s += by_dir[name]  # the sum of what is shown, so a rerun that reuses them sums the same
    seconds = train_s + analyse_s
    timing = {"preset": preset_name, "overrides": overrides, "seconds": round(seconds, 1),
              "train_seconds": round(train_s, 1),
              "analysis_seconds": round(analyse_s, 1), "analysis_seconds_by_dir": by_dir,
              "runs": {n: roles for n, (_, roles) in sets.items()},
              "epochs": {n: grid.base.epochs for n, (grid, _) in sets.items()}, "epochs_reached": reached}
    if len(analyses) < len(sets):
        missing = ", ".join(f"{n} reached epoch {reached[n]} of {sets[n][0].base.epochs}"
                            for n in sets if n not in analyses)
        doc = {"complete": False, "claims": [], "incomplete": f"out of budget: {missing}; no claim judged"} | timing
        write_json(out / "fidelity.json", doc)
        done = [out / "runs" / n for n in analyses]
        if done:
            write_report(done, out / "report.html", extra_sections=[(
                "Fidelity to the study", f"<p><b>Incomplete</b>: {html.escape(doc['incomplete'])}.</p>")])
        return doc
    left_out = frozenset(role for role, k in SEEDS.get(preset_name, SEEDS["long"]).items() if k == 0)
    rows = claims(analyses["main"], sets["main"][1], analyses["nanda"], left_out)
    doc = {"complete": True} | fid.table(rows) | timing
    write_json(out / "fidelity.json", doc)
    figures = fidelity_figures(analyses["main"], sets["main"][1], analyses["nanda"])
    write_report([out / "runs" / "main", out / "runs" / "nanda"], out / "report.html",
                 extra_sections=[("Fidelity to the study", fidelity_html(rows, preset_name, seconds, overrides,
                                                                         figures))])
    return doc
