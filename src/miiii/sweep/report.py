"""One self-contained HTML page about a sweep's study: Optuna's own visualisations.

Best trials table, optimisation history, parameter importances (fANOVA, Optuna's default)
and slice plots. plotly.js is embedded once, inline, so the page opens offline.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from ..store import atomic_write

N_BEST = 10

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.note{color:#666;font-style:italic}
section{margin:2em 0}h2{border-bottom:1px solid #ddd}"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return "–" if v is None else str(v)


def _table(header: list[str], rows: list[list[Any]], left: int = 0) -> str:
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="l"' if i >= len(header) - left else ""
        return f"<{tag}{cls}>{html.escape(_fmt(v))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def best_rows(study: Any, n: int = N_BEST) -> tuple[list[str], list[list[Any]]]:
    """The n best complete trials: number, value, objective parts, parameters, run directory."""
    from optuna.trial import TrialState

    done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.value)[:n]
    params = sorted({k for t in done for k in t.params})
    header = ["trial", "value", "grokked", "all grokked by", "valid loss", "valid acc", *params, "run (index)"]
    rows = []
    for t in done:
        a = t.user_attrs
        rows.append([t.number, t.value, f"{a.get('grokked')}/{a.get('judged_subtasks')}",
                     a.get("all_grokked_epoch"), a.get("final_valid_loss"), a.get("final_valid_acc"),
                     *(t.params.get(k) for k in params), f"{a.get('run_dir')} ({a.get('run_index')})"])
    return header, rows


def _figures(study: Any) -> list[tuple[str, str]]:
    """(title, plotly div or a note) for each of Optuna's plots; a plot that cannot be drawn says why."""
    from optuna import visualization as vis

    out = []
    for title, make in (("Optimisation history", vis.plot_optimization_history),
                        ("Parameter importances (fANOVA)", vis.plot_param_importances),
                        ("Slice plots", vis.plot_slice)):
        try:
            fig = make(study)
            fig.update_layout(height=420 if title != "Slice plots" else 460)
            out.append((title, fig.to_html(full_html=False, include_plotlyjs=False)))
        except Exception as e:  # e.g. importances need two complete trials and a varied parameter
            out.append((title, f'<p class="note">not drawn: {html.escape(str(e).splitlines()[0])}</p>'))
    return out


def render(study: Any, storage: str = "") -> str:
    from optuna.trial import TrialState
    from plotly.offline import get_plotlyjs

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    surplus = sum(1 for t in trials if t.state == TrialState.PRUNED and t.user_attrs.get("surplus"))
    spec = study.user_attrs.get("miiii", {})
    space = spec.get("space", {})
    base = {k: v for k, v in spec.get("base", {}).items() if k not in space}
    parts = [f"<h1>Sweep <code>{html.escape(study.study_name)}</code></h1>",
             f"<p>storage {html.escape(storage)}; trials: "
             + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
             + (f" ({surplus} pruned as surplus, never trained)" if surplus else "") + "</p>",
             "<p>Objective (minimised): T/epochs when every sub-task in the loss has grokked by epoch T; "
             "otherwise 2 − the grokked fraction; plus final validation loss as a tie-break "
             "(docs/sweep.md).</p>"]
    if space:
        parts.append("<section><h2>Search space</h2>" + _table(
            ["parameter", "choices"], [[k, ", ".join(_fmt(v) for v in vs)] for k, vs in space.items()], left=2)
            + f'<p class="note">fixed: {html.escape(json.dumps(base))}</p></section>')
    header, rows = best_rows(study)
    parts.append("<section><h2>Best trials</h2>"
                 f"{_table(header, rows, left=1) if rows else '<p class=note>no complete trial yet</p>'}</section>")
    if rows:
        for title, body in _figures(study):
            parts.append(f"<section><h2>{title}</h2>{body}</section>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>miiii sweep {html.escape(study.study_name)}"
            f"</title><style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
            f"<body>{''.join(parts)}</body></html>")


def write_report(study: Any, out: str | Path, storage: str = "") -> Path:
    path = Path(out)
    atomic_write(path, render(study, storage).encode())
    return path
