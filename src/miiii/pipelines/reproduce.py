"""``miiii reproduce``: the study's run set, trained, analysed, and judged claim by claim.

The run set (``docs/study.md``): ``miiii`` over several seeds, ``nanda``, ``basis``, ``masked``
(q in {2,3,5,7} out of the loss), ``miiii`` with lambda = 0 and ``miiii`` with dropout 0.
All but ``nanda`` share every array shape (``basis`` and ``masked`` differ from ``miiii`` only
in targets and loss mask), so they train as ONE vmapped multi-run in ``DIR/runs/main``;
``nanda`` (another unembedding width) trains in ``DIR/runs/nanda``.

Killed, it resumes: each run directory resumes from its newest checkpoint, and finished ones
are only re-analysed. Output: ``DIR/fidelity.json`` and ``DIR/report.html``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Grid, preset
from ..runner import Progress, train_run
from ..store import RunDir, write_json
from . import fidelity as fid
from .analyze import write_analysis
from .report import write_report

SEEDS = {"smoke": 2, "quick": 3, "paper": 3}


def run_set(preset_name: str) -> dict[str, tuple[Grid, list[str]]]:
    """``name -> (grid, role of each run)`` for a preset."""
    base = preset(preset_name)
    n_seeds = SEEDS.get(preset_name, 3)
    runs = [base.replace(seed=s) for s in range(n_seeds)]
    roles = [f"miiii seed {s}" for s in range(n_seeds)]
    runs += [base.replace(lambda_=0.0), base.replace(dropout=0.0)]
    roles += ["miiii lambda=0", "miiii dropout=0"]
    if base.p > 7 and len(base.primes) > 4:  # masked needs a prime above 7 left in the loss
        runs.append(base.replace(task="masked"))
        roles.append("masked")
    runs.append(base.replace(task="basis"))
    roles.append("basis")
    nanda = base.replace(task="nanda")
    return {"main": (Grid.of_runs(runs), roles), "nanda": (Grid.of_runs([nanda]), ["nanda"])}


def claims(main: dict[str, Any], roles: list[str], nanda: dict[str, Any]) -> list[fid.Claim]:
    """Turn the two analyses into the fidelity table (rules in ``pipelines.fidelity``)."""
    qs = list(main["subtasks"])
    by_role = dict(zip(roles, main["runs"]))
    seeds = [r for role, r in by_role.items() if role.startswith("miiii seed")]
    seed_grok = [r["grok_epoch"] for r in seeds]
    out = [fid.grok_order(qs, seed_grok), fid.others_late(qs, seed_grok),
           fid.pos_corr("nanda", 0.95, [nanda["runs"][0]["pos_emb_corr"]]),
           fid.pos_corr("miiii", -0.64, [r["pos_emb_corr"] for r in seeds])]
    out.append(fid.attention_digits([r["attention"]["reads"] for r in seeds]))
    basis = [by_role["basis"]["fourier"]["n_key"]] if "basis" in by_role else []
    out.append(fid.key_freqs([nanda["runs"][0]["fourier"]["n_key"]], [r["fourier"]["n_key"] for r in seeds], basis))
    # The study's |omega| saturates at small p (every frequency is active in a random model),
    # so the spike is judged on the calibrated count at every logged epoch (measures.omega).
    om = seeds[0]["omega"]
    out.append(fid.omega_spike(om["epochs"], [r["omega"]["count_calibrated"] for r in seeds],
                               "calibrated |ω| (vs untrained models)"))
    out.append(fid.lambda_zero(seed_grok[0], by_role["miiii lambda=0"]["grok_epoch"]))
    d0 = by_role["miiii dropout=0"]
    out.append(fid.dropout_zero(qs, d0["grok_epoch"], d0["final_train_acc"]))
    if "masked" in by_role:
        out.append(fid.masked_first(qs, by_role["masked"]["grok_epoch"]))
    else:
        out.append(fid.masked_first(qs, [None] * len(qs)))
    return out


def fidelity_html(claims_: list[fid.Claim], preset_name: str, seconds: float) -> str:
    colour = {fid.REPRODUCED: "#1a7f37", fid.DIFFERS: "#b42318", fid.UNTESTABLE: "#8a6d00"}
    rows = "".join(
        f"<tr><td>{html.escape(c.id)}</td><td>{html.escape(c.study)}</td><td>{html.escape(c.measured)}</td>"
        f"<td style='color:{colour[c.verdict]};font-weight:600'>{html.escape(c.verdict)}</td></tr>"
        for c in claims_)
    n = {v: sum(c.verdict == v for c in claims_) for v in colour}
    return (f"<p>Preset <b>{html.escape(preset_name)}</b>, trained and analysed in {seconds:.0f} s. "
            f"{n[fid.REPRODUCED]} reproduced, {n[fid.DIFFERS]} differ, {n[fid.UNTESTABLE]} not testable at "
            "this preset. Each verdict is decided by the rule in <code>miiii/pipelines/fidelity.py</code>.</p>"
            "<table><tr><th>claim</th><th>study</th><th>measured</th><th>verdict</th></tr>"
            f"{rows}</table>")


def reproduce(preset_name: str, out: str | Path, log: Callable[[str], None] | None = None,
              progress: Callable[[int], Progress | None] | None = None) -> dict[str, Any]:
    """Train (or resume, or reuse), analyse and judge the run set of a preset under ``out``.

    ``log`` receives one line per stage; ``progress(total_epochs)`` makes a per-run-directory
    training progress callback. Nothing is printed here.
    """
    say = log or (lambda line: None)
    out = Path(out)
    sets = run_set(preset_name)
    for name, (grid, _) in sets.items():  # refuse a foreign or broken directory before training
        RunDir(out / "runs" / name).check_compatible(grid)
    train_s, analyse_s = 0.0, 0.0
    analyses = {}
    for name, (grid, roles) in sets.items():
        rd = out / "runs" / name
        say(f"training {name}: {len(roles)} run(s) ({', '.join(roles)})")
        summary = train_run(grid, str(rd), progress=progress(grid.base.epochs) if progress else None)
        train_s += summary["runs"][0]["seconds"]  # wall time of the multi-run, across resumes
        say(f"analysing {name}")
        t0 = time.perf_counter()
        analyses[name] = write_analysis(rd)
        analyse_s += time.perf_counter() - t0
    rows = claims(analyses["main"], sets["main"][1], analyses["nanda"])
    seconds = train_s + analyse_s
    doc = fid.table(rows) | {"preset": preset_name, "seconds": round(seconds, 1),
                             "train_seconds": round(train_s, 1), "analysis_seconds": round(analyse_s, 1),
                             "runs": {n: roles for n, (_, roles) in sets.items()}}
    write_json(out / "fidelity.json", doc)
    write_report([out / "runs" / "main", out / "runs" / "nanda"], out / "report.html",
                 extra_sections=[("Fidelity to the study", fidelity_html(rows, preset_name, seconds))])
    return doc
