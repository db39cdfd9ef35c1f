"""Pipelines: everything after training that reads or writes a run directory.

analyze (a run directory -> analysis.json + figures), report (run directories -> one HTML
page), reproduce (the study's run set, trained, analysed and judged by ``fidelity``'s rules).
"""

from .analyze import analyze_run, compute_run, write_analysis
from .report import build_report, load_analysis, write_report
from .reproduce import reproduce, run_set

__all__ = ["analyze_run", "build_report", "compute_run", "load_analysis", "reproduce", "run_set",
           "write_analysis", "write_report"]
