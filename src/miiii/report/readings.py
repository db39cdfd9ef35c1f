"""Numbers -> words: the key numbers and a one-line reading of each figure of a run.

Pure functions of one entry of analysis.json's "runs" (``docs/analysis.md``), so the
report's text is testable without drawing anything. Thresholds used to choose words:
|r| >= 0.5 for "alike"/"opposite" positional embeddings; a head "reads" a digit when at
least 3/4 of its attention goes there; a neuron belongs to a frequency cluster when that
frequency explains at least half of its variance.
"""

from __future__ import annotations

from typing import Any

Numbers = dict[str, Any]

def _mean(xs) -> float:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else float("nan")


def _freqs(fs: list[int], limit: int = 12) -> str:
    if not fs:
        return "none"
    shown = ", ".join(map(str, fs[:limit]))
    return f"{len(fs)} ({shown}{', ...' if len(fs) > limit else ''})"


def _peak(epochs: list[int], counts: list[int]) -> tuple[int, int]:
    """(largest count, first epoch it is reached); (0, 0) with no logged epochs."""
    if not counts:
        return 0, 0
    m = max(counts)
    return m, epochs[counts.index(m)]


def grokked(n: Numbers) -> list[int]:
    return [int(q) for q, e in zip(n["subtasks"], n["grok_epoch"]) if e is not None]


def key_numbers(n: Numbers) -> list[tuple[str, str]]:
    """(label, value) rows: the numbers a reader compares across runs."""
    rows = [("diverged", "no" if n.get("diverged_epoch") is None else f"DIVERGED at epoch {n['diverged_epoch']}")]
    if "fourier" not in n:  # a diverged run has curves only
        return rows + [("mean final validation accuracy", f"{_mean(n['final_valid_acc']):.3f}")]
    return rows + _key_numbers(n)


def _key_numbers(n: Numbers) -> list[tuple[str, str]]:
    o = n["omega"]
    peak, at = _peak(o["epochs"], o["count"])
    peak_a, at_a = _peak(o["dominant_epochs"], o["count_dominant"])
    nu = n["neurons"]
    return [
        ("mean final validation accuracy", f"{_mean(n['final_valid_acc']):.3f}"),
        ("mean final train accuracy", f"{_mean(n['final_train_acc']):.3f}"),
        ("sub-tasks grokked", f"{len(grokked(n))} / {len(n['grok_epoch'])}"),
        ("positional correlation r(x0, x1)", f"{n['pos_emb_corr']:.3f}"),
        ("key frequencies of W_E", _freqs(n["fourier"]["key_freqs"])),
        ("SVD components for 50 % / 90 %", f"{n['svd']['n50']} / {n['svd']['n90']}"),
        ("neurons in a frequency cluster", f"{nu['clustered']} / {nu['n_neurons']}"),
        (f"|omega| final (peak, epoch) [mean + {o['k']:g} std]",
         f"{o['count'][-1] if o['count'] else 0} ({peak} at {at})" + (" saturated at this p" if o.get("saturated") else "")),
        ("calibrated |omega| final (peak, epoch)", _calibrated(o)),
        ("|omega| of untrained models", f"{o['reference_count']:.1f}"),
        ("frequencies dominating neurons final (peak, epoch)",
         f"{o['count_dominant'][-1] if o['count_dominant'] else 0} ({peak_a} at {at_a})"),
    ]


def read_curves(n: Numbers) -> str:
    g = grokked(n)
    acc = _mean(n["final_valid_acc"])
    if not g:
        return f"No sub-task grokked (validation accuracy never reached 0.99 to stay); mean final validation accuracy {acc:.2f}."
    order = n["grok_order"]
    first = order[0]
    e = n["grok_epoch"][n["subtasks"].index(first[0])]
    return (f"{len(g)} of {len(n['grok_epoch'])} sub-tasks grokked; first q = {', '.join(map(str, first))} "
            f"at epoch {e}; mean final validation accuracy {acc:.2f}.")


def read_pos_emb(n: Numbers) -> str:
    r = n["pos_emb_corr"]
    if r >= 0.5:
        return f"The two input positions are embedded alike (r = {r:.2f}): x0 and x1 are read the same way, as a commutative task invites."
    if r <= -0.5:
        return f"The two input positions are embedded in opposite directions (r = {r:.2f}): x0 and x1 play different roles."
    return f"The two input positions are only weakly related (r = {r:.2f})."


def read_svd(n: Numbers) -> str:
    s = n["svd"]
    k = len(s["singular_values"])
    shape = "low-dimensional" if s["n90"] <= k // 3 else "spread over many directions"
    return f"{s['n50']} of {k} singular directions hold half of W_E's variance and {s['n90']} hold 90 %: the token embedding is {shape}."


def read_fourier(n: Numbers) -> str:
    f = n["fourier"]["key_freqs"]
    if not f:
        return "No key frequency: W_E has no significant periodic structure (expected for an untrained or basis model)."
    return f"{len(f)} key frequenc{'y' if len(f) == 1 else 'ies'} ({', '.join(map(str, f))}): the token embedding is built from these waves."


def read_neurons(n: Numbers) -> str:
    nu = n["neurons"]
    top = list(nu["clusters"].items())[:3]
    tops = ", ".join(f"k = {k} ({c} neurons)" for k, c in top) or "none"
    return (f"On average a neuron's top frequency explains {nu['mean_frac_explained']:.0%} of its variance; "
            f"largest clusters: {tops}.")


def read_neuron_clusters(n: Numbers) -> str:
    nu = n["neurons"]
    return (f"{nu['clustered']} of {nu['n_neurons']} neurons are dominated (>= {nu['cluster_min_frac']:.0%}) by one frequency, "
            f"in {len(nu['clusters'])} clusters; {nu['dead']} neurons never fire.")


def _calibrated(o: Numbers) -> str:
    c = o.get("count_calibrated") or []
    peak, at = _peak(o["epochs"], c)
    return f"{c[-1] if c else 0} ({peak} at {at})"


def read_omega(n: Numbers) -> str:
    o = n["omega"]
    if not o["count"]:
        return "No omega was recorded."
    peak, at = _peak(o["epochs"], o["count"])
    peak_a, at_a = _peak(o["dominant_epochs"], o["count_dominant"])
    dom = o["count_dominant"] or [0]
    study = (f"|omega| (mean + {o['k']:g} std rule) goes {o['count'][0]} -> {o['count'][-1]}, peak {peak} at epoch "
             f"{at} (untrained models give {o['reference_count']:.1f}"
             + ("; saturated at this p, so its course says nothing" if o.get("saturated") else "") + ")")
    cal = o.get("count_calibrated") or [0]
    peak_c, at_c = _peak(o["epochs"], cal)
    return (f"{study}; calibrated |omega| (more neurons than any frequency of an untrained model) goes "
            f"{cal[0]} -> {cal[-1]}, peak {peak_c} at epoch {at_c}; frequencies dominating neurons go "
            f"{dom[0]} -> {dom[-1]}, peak {peak_a} at epoch {at_a}.")


def read_attention(n: Numbers) -> str:
    reads = n["attention"]["reads"]
    one = [f"head {i} reads {r}" for i, r in enumerate(reads) if r != "both"]
    if not one:
        return "Every head attends to both digits (no head puts >= 75 % of its attention on one)."
    return "; ".join(one) + (f"; {len(reads) - len(one)} head(s) attend to both." if len(one) < len(reads) else ".")


def read_grad_norms(n: Numbers) -> str:
    g = n["grad_norms"]
    if not g:
        return "No gradient norms were recorded."
    big = max(g, key=lambda m: g[m]["max"])
    fin = sorted(g, key=lambda m: g[m]["final"])
    return (f"Largest gradient norm {g[big]['max']:.3g} in {big} at epoch {g[big]['max_epoch']}; "
            f"final norms range from {g[fin[0]]['final']:.2g} ({fin[0]}) to {g[fin[-1]]['final']:.2g} ({fin[-1]}).")
