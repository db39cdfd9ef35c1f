"""Words and pages from numbers: the figure registry, readings, the HTML page (all pure)."""

from .figures import FIGURES, FigureSpec, all_figures, reading
from .html import columns, render_html
from .readings import key_numbers

__all__ = ["FIGURES", "FigureSpec", "all_figures", "columns", "key_numbers", "reading", "render_html"]
