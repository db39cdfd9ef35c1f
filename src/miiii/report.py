"""One self-contained HTML page for one or several runs (SPEC section 6).

``build_report(run_dirs, out_html, extra_sections=None)``: every run of every run directory
becomes one column. The page holds each run's configuration, the key numbers side by side,
and every figure with a one-line reading (``readings``). Figures are PNGs embedded as
``data:`` URIs and the style sheet is inline, so the file opens offline and needs no
network. A run directory without ``analysis/analysis.json`` (or without figures for it) is
analysed first (``analysis.write_analysis``, final epoch).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any, Sequence

from .config import ConfigError
from .readings import TITLES, key_numbers, reading
from .store import RunDir, atomic_write

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1500px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} tr.differs td{background:#fff7e0}
.row{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0;flex:1 1 420px;max-width:820px}
figure img{width:100%;height:auto;border:1px solid #eee} figcaption{font-size:.9em;margin-top:.3em}
.label{font-weight:600} .meta{color:#666;font-size:.85em} code{background:#f4f4f4;padding:0 .2em}
"""


def _load(run_dir: str | Path) -> dict[str, Any]:
    from .analysis.runs import write_analysis

    rd = RunDir(run_dir)
    rd.require_complete()
    path = rd.path / "analysis" / "analysis.json"
    doc = json.loads(path.read_text()) if path.exists() else None
    fresh = doc is not None and all("figures" in r and all(
        (path.parent / f["png"]).exists() for f in r["figures"].values()) for r in doc["runs"])
    if not fresh:
        doc = write_analysis(rd.path)
    return doc


def _columns(docs: list[tuple[Path, dict]]) -> list[dict[str, Any]]:
    """One column per run: label, numbers and where its figures are."""
    cols = []
    for base, doc in docs:
        for n in doc["runs"]:
            vary = ", ".join(f"{k}={n['config'][k]}" for k in doc.get("varying", []))
            label = f"{base.name} · run {n['run']}" + (f" ({vary})" if vary else "")
            cols.append({"label": label, "n": n, "dir": base / "analysis", "epoch": doc["epoch"]})
    return cols


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"data:image/png;base64,{data}"


def _table(header: list[str], rows: list[tuple[str, list[str]]], mark_differences: bool = False) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for label, vals in rows:
        cls = ' class="differs"' if mark_differences and len(set(vals)) > 1 else ""
        out.append(f"<tr{cls}><td class=label>{html.escape(label)}</td>"
                   + "".join(f"<td>{html.escape(v)}</td>" for v in vals) + "</tr>")
    return "\n".join(out) + "</table>"


def render_html(cols: list[dict[str, Any]], extra_sections: Sequence[tuple[str, str]] | None = None,
                images: bool = True) -> str:
    """The page for these columns (pure apart from reading the figure files it embeds)."""
    header = [""] + [c["label"] for c in cols]
    keys = list(cols[0]["n"]["config"])
    for c in cols[1:]:
        keys += [k for k in c["n"]["config"] if k not in keys]
    cfg_rows = [(k, [json.dumps(c["n"]["config"].get(k)) for c in cols]) for k in keys]
    cfg_rows.insert(0, ("analysed epoch", [str(c["epoch"]) for c in cols]))
    labels = [lab for lab, _ in key_numbers(cols[0]["n"])]
    num_rows = [(lab, [dict(key_numbers(c["n"]))[lab] for c in cols]) for lab in labels]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>miiii report: {html.escape(', '.join(c['label'] for c in cols))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>miiii report</h1>",
        f"<p class=meta>{len(cols)} run(s); generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}. "
        "Rules behind the numbers: README, section \"Opening the model\".</p>",
        "<h2>Key numbers</h2>", _table(header, num_rows, mark_differences=True),
        "<h2>Configuration</h2><p class=meta>Rows where the runs differ are highlighted.</p>",
        _table(header, cfg_rows, mark_differences=True),
    ]
    for title, body in extra_sections or ():
        parts += [f"<h2>{html.escape(title)}</h2>", body]
    for name, title in TITLES.items():
        parts += [f"<h2 id={name}>{html.escape(title)}</h2>", "<div class=row>"]
        for c in cols:
            fig = c["n"].get("figures", {}).get(name)
            src = _img(c["dir"] / fig["png"]) if images and fig else ""
            img = f"<img alt='{html.escape(name)}: {html.escape(c['label'])}' src='{src}'>" if src else ""
            parts.append(f"<figure>{img}<figcaption><span class=label>{html.escape(c['label'])}:</span> "
                         f"{html.escape(reading(name, c['n']))}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(run_dirs: Sequence[str | Path], out_html: str | Path,
                 extra_sections: Sequence[tuple[str, str]] | None = None) -> Path:
    """Analyse where needed and write one self-contained HTML page; returns its path.

    ``extra_sections``: (title, HTML body) pairs inserted after the configuration table
    (e.g. ``miiii reproduce``'s fidelity table).
    """
    if not run_dirs:
        raise ConfigError("report: give at least one run directory")
    out = Path(out_html)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out: expected a .html file, got {out}")
    for d in run_dirs:  # every directory checked before any is analysed
        RunDir(d).require_complete()
    docs = [(Path(d), _load(d)) for d in run_dirs]
    atomic_write(out, render_html(_columns(docs), extra_sections).encode())
    return out
