"""The one figure registry: name -> title, how it is drawn, how it is read.

``FIGURES`` orders the report's sections; the analysis pipeline draws every entry, the
report shows every entry with its reading. Add a figure here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from matplotlib.figure import Figure

from ..plots import run_figures as draw
from . import readings as read


class FigureSpec(NamedTuple):
    title: str
    draw: Callable[[dict[str, Any], dict[str, Any]], Figure]  # (numbers, arrays) -> Figure
    read: Callable[[dict[str, Any]], str]  # numbers -> one line saying what it shows


FIGURES: dict[str, FigureSpec] = {
    "curves": FigureSpec("Training curves", draw.curves, read.read_curves),
    "pos_emb": FigureSpec("Positional embeddings", draw.pos_emb, read.read_pos_emb),
    "svd": FigureSpec("Token-embedding SVD", draw.svd, read.read_svd),
    "fourier": FigureSpec("W_E in the Fourier basis", draw.fourier, read.read_fourier),
    "neurons": FigureSpec("Neurons and their spectra", draw.neurons, read.read_neurons),
    "neuron_clusters": FigureSpec("Neurons clustered by frequency", draw.neuron_clusters, read.read_neuron_clusters),
    "omega": FigureSpec("Active frequencies omega over training", draw.omega, read.read_omega),
    "attention": FigureSpec("Attention patterns", draw.attention, read.read_attention),
    "grad_norms": FigureSpec("Gradient norms", draw.grad_norms, read.read_grad_norms),
}


def all_figures(numbers: dict[str, Any], arrays: dict[str, Any],
                only: list[str] | None = None) -> Iterator[tuple[str, Figure]]:
    for name, spec in FIGURES.items():
        if only is None or name in only:
            yield name, spec.draw(numbers, arrays)


def reading(name: str, numbers: dict[str, Any]) -> str:
    """One line saying what figure ``name`` shows for this run."""
    if name != "curves" and numbers.get("diverged_epoch") is not None and "fourier" not in numbers:
        return f"Diverged at epoch {numbers['diverged_epoch']} (non-finite training loss): no parameters to analyse."
    return FIGURES[name].read(numbers)
