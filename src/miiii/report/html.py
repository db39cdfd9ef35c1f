"""One self-contained HTML page for one or several runs: pure, numbers and PNG bytes in.

The page opens with the extra sections (``miiii reproduce``'s fidelity table: what its reader
came for), then the runs' tables, then every figure of the registry (``report.figures``) with a
one-line reading; figures that share a section (``FigureSpec.section``) sit under its heading,
after the section's own reading (e.g. "One basis per prime?").

Up to ``COLUMNS`` runs, each run is a column of the key-numbers and configuration tables; with
more, the tables turn: one row per run, the configuration shared by every run written once
and only what differs per run. Cells wrap anywhere, so no table is wider than the page for any
number of runs. Figures are embedded as palette PNGs (256 colours, lossless in layout, about a
third of matplotlib's RGBA bytes: the 13-run quick reproduction fits in a few MB) as ``data:``
URIs, and the style sheet is inline, so the file opens offline. Reading run directories and
writing the file is ``pipelines.report``'s job.
"""

from __future__ import annotations

import base64
import html
import io
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
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
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


COLUMNS = 4  # more runs than this: the per-run tables have one row per run


def compact_png(png: bytes) -> bytes:
    """The PNG with a 256-colour palette (Pillow's fast octree; deterministic), optimised."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    im.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def _img(png: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(compact_png(png)).decode()}"


def _table(header: list[str], rows: list[tuple[str, list[str]]], mark_differences: bool = False) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for label, vals in rows:
        cls = ' class="differs"' if mark_differences and len(set(vals)) > 1 else ""
        out.append(f"<tr{cls}><td class=label>{html.escape(label)}</td>"
                   + "".join(f"<td>{html.escape(v)}</td>" for v in vals) + "</tr>")
    return "\n".join(out) + "</table>"


def run_tables(cols: list[dict[str, Any]]) -> list[str]:
    """The key numbers and the configuration: a column per run, or a row per run (module doc)."""
    keys = list(cols[0]["n"]["config"])
    for c in cols[1:]:
        keys += [k for k in c["n"]["config"] if k not in keys]
    cfg = {k: [json.dumps(c["n"]["config"].get(k)) for c in cols] for k in keys}
    cfg = {"analysed epoch": [str(c["epoch"]) for c in cols]} | cfg
    numbers = [dict(key_numbers(c["n"])) for c in cols]
    labels = list(dict.fromkeys(lab for kn in numbers for lab in kn))  # a diverged run has fewer rows
    if len(cols) <= COLUMNS:
        header = [""] + [c["label"] for c in cols]
        return ["<h2>Key numbers</h2>",
                _table(header, [(lab, [kn.get(lab, "–") for kn in numbers]) for lab in labels],
                       mark_differences=True),
                "<h2>Configuration</h2><p class=meta>Rows where the runs differ are highlighted.</p>",
                _table(header, list(cfg.items()), mark_differences=True)]
    same = {k: v[0] for k, v in cfg.items() if len(set(v)) == 1}
    differ = [k for k, v in cfg.items() if len(set(v)) > 1]
    shared = ", ".join(f"<code>{html.escape(k)}={html.escape(v)}</code>" for k, v in same.items())
    return ["<h2>Key numbers</h2><p class=meta>One row per run.</p>",
            _table(["run"] + labels, [(c["label"], [kn.get(lab, "–") for lab in labels])
                                      for c, kn in zip(cols, numbers)]),
            "<h2>Configuration</h2>", f"<p class=meta>Every run: {shared}.</p>",
            _table(["run"] + differ, [(c["label"], [cfg[k][i] for k in differ]) for i, c in enumerate(cols)])
            if differ else ""]


def render_html(cols: list[dict[str, Any]], extra_sections: Sequence[tuple[str, str]] | None = None,
                generated: str | None = None) -> str:
    """The page for these columns (``columns``); pure: the figures come as PNG bytes."""
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>miiii report: {html.escape(', '.join(c['label'] for c in cols))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>miiii report</h1>",
        f"<p class=meta>{len(cols)} run(s); generated {html.escape(generated or '')}. "
        "Rules behind the numbers: docs/analysis.md in the miiii repository.</p>",
    ]
    for title, body in extra_sections or ():
        parts += [f"<h2 id={_anchor(title)}>{html.escape(title)}</h2>", body]
    parts += run_tables(cols)
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
