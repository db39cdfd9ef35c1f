"""``write_report``: run directories -> one self-contained HTML page.

A run directory without ``analysis/analysis.json`` (or without its figures) is analysed
first (``pipelines.analyze.write_analysis``, final epoch).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import ConfigError
from ..report import columns, render_html
from ..store import RunDir, atomic_write
from .analyze import SCHEMA, write_analysis


def load_analysis(run_dir: str | Path) -> dict[str, Any]:
    """``analysis.json`` of a complete run directory, analysing it first when needed: when there
    is none, or it has an older layout, another epoch than the final one, only some of the runs
    (``analyze --run``) or figures missing. Figures drawn here are PNG only, what the page
    embeds (each format redraws the layout: SVG too doubled a smoke reproduction's drawing time);
    ``miiii analyze --format svg,png,pdf`` writes the others."""
    rd = RunDir(run_dir)
    summary = rd.require_complete()
    path = rd.path / "analysis" / "analysis.json"
    doc = json.loads(path.read_text()) if path.exists() else None
    fresh = doc is not None and doc.get("schema") == SCHEMA and doc.get("epoch") == summary["epochs"] and \
        len(doc["runs"]) == len(summary["runs"]) and all("figures" in r and all(
        (path.parent / f["png"]).exists() for f in r["figures"].values()) for r in doc["runs"])
    return doc if fresh else write_analysis(rd.path, formats=("png",))


def _images(run_dir: Path, doc: dict[str, Any]) -> dict[int, dict[str, bytes]]:
    base = run_dir / "analysis"
    return {r["run"]: {name: (base / f["png"]).read_bytes() for name, f in r.get("figures", {}).items()}
            for r in doc["runs"]}


def write_report(run_dirs: Sequence[str | Path], out_html: str | Path,
                 extra_sections: Sequence[tuple[str, str]] | None = None) -> Path:
    """Analyse where needed and write one self-contained HTML page; returns its path.

    ``extra_sections``: (title, HTML body) pairs that open the page, before the runs' tables
    (e.g. ``miiii reproduce``'s fidelity table).
    """
    if not run_dirs:
        raise ConfigError("report: give at least one run directory")
    out = Path(out_html)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out: expected a .html file, got {out}")
    for d in run_dirs:  # every directory checked before any is analysed
        RunDir(d).require_complete()
    cols = []
    for d in map(Path, run_dirs):
        doc = load_analysis(d)
        cols += columns(d.name, doc, _images(d, doc))
    page = render_html(cols, extra_sections, generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    atomic_write(out, page.encode())
    return out


build_report = write_report  # the name before 0.2
