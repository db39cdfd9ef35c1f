"""One self-contained HTML page for one or several runs: pure, numbers and PNG bytes in.

Every run becomes one column: its configuration, the key numbers side by side, and every
figure of the registry (``report.figures``) with a one-line reading; figures that share a
section (``FigureSpec.section``) sit under its heading, after the section's own reading
(e.g. "One basis per prime?"). Figures are embedded as
``data:`` URIs and the style sheet is inline, so the file opens offline. Reading run
directories and writing the file is ``pipelines.report``'s job.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from typing import Any

from .figures import FIGURES, reading, section_reading
from .readings import key_numbers

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1500px;\
color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} \
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} tr.differs td{background:#fff7e0}
.row{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0;flex:1 1 420px;max-width:820px}
figure img{width:100%;height:auto;border:1px solid #eee} figcaption{font-size:.9em;margin-top:.3em}
h3{font-size:1.05em;margin-top:1.2em} .reading{font-size:.95em;margin:.3em 0}
.label{font-weight:600} .meta{color:#666;font-size:.85em} code{background:#f4f4f4;padding:0 .2em}
"""


def columns(name: str, doc: dict[str, Any], images: dict[int, dict[str, bytes]]) -> list[dict[str, Any]]:
    """One column per run of one analysis.json: label, numbers, epoch and its PNG figures."""
    cols = []
    for n in doc["runs"]:
        vary = ", ".join(f"{k}={n['config'][k]}" for k in doc.get("varying", []))
        label = f"{name} · run {n['run']}" + (f" ({vary})" if vary else "")
        cols.append({"label": label, "n": n, "epoch": doc["epoch"], "images": images.get(n["run"], {})})
    return cols


def _anchor(title: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())


def _img(png: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(png).decode()}"


def _table(header: list[str], rows: list[tuple[str, list[str]]], mark_differences: bool = False) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for label, vals in rows:
        cls = ' class="differs"' if mark_differences and len(set(vals)) > 1 else ""
        out.append(f"<tr{cls}><td class=label>{html.escape(label)}</td>"
                   + "".join(f"<td>{html.escape(v)}</td>" for v in vals) + "</tr>")
    return "\n".join(out) + "</table>"


def render_html(cols: list[dict[str, Any]], extra_sections: Sequence[tuple[str, str]] | None = None,
                generated: str | None = None) -> str:
    """The page for these columns (``columns``); pure: the figures come as PNG bytes."""
    header = [""] + [c["label"] for c in cols]
    keys = list(cols[0]["n"]["config"])
    for c in cols[1:]:
        keys += [k for k in c["n"]["config"] if k not in keys]
    cfg_rows = [(k, [json.dumps(c["n"]["config"].get(k)) for c in cols]) for k in keys]
    cfg_rows.insert(0, ("analysed epoch", [str(c["epoch"]) for c in cols]))
    numbers = [dict(key_numbers(c["n"])) for c in cols]
    labels = list(dict.fromkeys(lab for kn in numbers for lab in kn))  # a diverged run has fewer rows
    num_rows = [(lab, [kn.get(lab, "–") for kn in numbers]) for lab in labels]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>miiii report: {html.escape(', '.join(c['label'] for c in cols))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>miiii report</h1>",
        f"<p class=meta>{len(cols)} run(s); generated {html.escape(generated or '')}. "
        "Rules behind the numbers: docs/analysis.md in the miiii repository.</p>",
        "<h2>Key numbers</h2>", _table(header, num_rows, mark_differences=True),
        "<h2>Configuration</h2><p class=meta>Rows where the runs differ are highlighted.</p>",
        _table(header, cfg_rows, mark_differences=True),
    ]
    for title, body in extra_sections or ():
        parts += [f"<h2>{html.escape(title)}</h2>", body]
    section = None
    for name, spec in FIGURES.items():
        if spec.section != section:
            section = spec.section
            if section is not None:
                parts.append(f"<h2 id={_anchor(section)}>{html.escape(section)}</h2>")
                parts += [f"<p class=reading><span class=label>{html.escape(c['label'])}:</span> "
                          f"{html.escape(section_reading(section, c['n']))}</p>" for c in cols]
        h = "h3" if section else "h2"
        parts += [f"<{h} id={name}>{html.escape(spec.title)}</{h}>", "<div class=row>"]
        for c in cols:
            png = c["images"].get(name)
            src = _img(png) if png else ""
            img = f"<img alt='{html.escape(name)}: {html.escape(c['label'])}' src='{src}'>" if src else ""
            parts.append(f"<figure>{img}<figcaption><span class=label>{html.escape(c['label'])}:</span> "
                         f"{html.escape(reading(name, c['n']))}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
