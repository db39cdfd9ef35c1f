"""The one figure registry: name -> title, how it is drawn, how it is read.

``FIGURES`` orders the report's sections; the analysis pipeline draws every entry, the
report shows every entry with its reading. Add a figure here and nowhere else. Consecutive
figures with the same ``section`` form one report section under that heading, which has its own
reading (``SECTIONS``), e.g. "One basis per prime?" for the per-sub-task figures.
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
    section: str | None = None  # a heading shared with the neighbouring figures of the same section


ONE_BASIS = "One basis per prime?"
SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {  # section heading -> its reading
    ONE_BASIS: read.read_one_basis_section,
}


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
    "subtask_energy": FigureSpec("Per sub-task: W_E energy per (q, k) and the neurons' frequencies",
                                 draw.subtask_energy, read.read_subtask_energy, ONE_BASIS),
    "subtask_progress": FigureSpec("Per sub-task: restricted and excluded loss over training",
                                   draw.subtask_progress, read.read_subtask_progress, ONE_BASIS),
    "subtask_neurons": FigureSpec("Per sub-task: neurons by attribution and features",
                                  draw.subtask_neurons, read.read_subtask_neurons, ONE_BASIS),
}


def all_figures(numbers: dict[str, Any], arrays: dict[str, Any],
                only: list[str] | None = None) -> Iterator[tuple[str, Figure]]:
    for name, spec in FIGURES.items():
        if only is None or name in only:
            yield name, spec.draw(numbers, arrays)


def _diverged(numbers: dict[str, Any]) -> str | None:
    if numbers.get("diverged_epoch") is not None and "fourier" not in numbers:
        return f"Diverged at epoch {numbers['diverged_epoch']} (non-finite training loss): no parameters to analyse."
    return None


def reading(name: str, numbers: dict[str, Any]) -> str:
    """One line saying what figure ``name`` shows for this run."""
    return (name != "curves" and _diverged(numbers)) or FIGURES[name].read(numbers)


def section_reading(section: str, numbers: dict[str, Any]) -> str:
    """One line answering a report section's question (``SECTIONS``) for this run."""
    return _diverged(numbers) or SECTIONS[section](numbers)
