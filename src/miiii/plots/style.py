"""One style for every figure: sizes legible at paper size, one sequential and one
diverging colour map, SVG (papers) and PNG (quick looks) from the same Figure."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display anywhere; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CMAP = "viridis"  # sequential: activations, norms, counts
DIVERGING = "RdBu_r"  # signed values centred on 0
PALETTE = plt.get_cmap("tab10").colors
WIDTH = 6.4  # inches: a single column at paper size

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "image.cmap": CMAP,
    "svg.fonttype": "none",  # text stays text in the SVG
    "svg.hashsalt": "miiii",  # deterministic ids
}


def figure(nrows: int = 1, ncols: int = 1, height: float = 3.2, width: float = WIDTH, **kw):
    """A new (fig, axes) in the house style (never touches pyplot's global figure list)."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


FORMATS = ("svg", "png", "pdf")
# No creation date and a fixed producer, so re-drawing the same numbers gives the same bytes.
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None, "Producer": "miiii"},
             "png": {"Software": None}}


def parse_formats(text: str) -> tuple[str, ...]:
    """``svg,png,pdf`` -> a tuple of formats; ValueError naming the bad one."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"expected a comma-separated list of {', '.join(FORMATS)}, got {text!r}")
    return formats


def render(fig: Figure, formats: tuple[str, ...] = ("svg", "png")) -> dict[str, bytes]:
    """The figure's bytes per format (the caller writes them); byte-identical across reruns."""
    out = {}
    with matplotlib.rc_context(RC | {"svg.hashsalt": "miiii", "pdf.compression": 6}):
        for ext in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=_METADATA[ext])
            out[ext] = buf.getvalue()
    return out


def styled(fn):
    """Draw inside the house rc context (fonts and sizes are fixed when artists are made)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        with matplotlib.rc_context(RC):
            return fn(*a, **kw)

    return wrapper


def log_epoch_axis(ax, epochs) -> None:
    """Log time axis when the logged epochs span decades (epoch 0 drawn at 1/2, labelled 0)."""
    import numpy as np

    e = np.asarray(epochs)
    pos = e[e > 0]
    if len(pos) and pos.max() / pos.min() >= 10:
        ax.set_xscale("log", base=2)
    ax.set_xlabel("epoch (full-batch steps)")
