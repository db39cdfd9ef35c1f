"""Numbers -> words: the key numbers and a one-line reading of each figure of a run.

Pure functions of one entry of analysis.json's "runs" (``docs/analysis.md``), so the
report's text is testable without drawing anything. Thresholds used to choose words:
|r| >= 0.5 for "alike"/"opposite" positional embeddings; a head "reads" a digit when at
least 3/4 of its attention goes there; a neuron belongs to a frequency cluster when that
frequency explains at least half of its variance. Per sub-task (docs/per-subtask.md): the key
frequencies carry sub-task q at the analysed epoch when its restricted loss is <= 0.1 and its
excluded loss >= 0.9 (losses / ln q, chance = 1).
"""

from __future__ import annotations

from typing import Any

from ..analysis.subtasks import read_one_basis

Numbers = dict[str, Any]
RESTRICTED_LOW, EXCLUDED_HIGH = 0.1, 0.9  # per sub-task: "the key k's carry q" (module doc)

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


def time_to_grok_text(t: dict | None) -> str:
    """A run's ``time_to_grok`` in words (the report's key number, the CLI's last words)."""
    if t is None:
        return "not recorded"
    if t["censored"]:
        return f"censored ({t['grokked']}/{t['of']} grokked)"
    secs = "" if t.get("seconds") is None else f", {t['seconds']:.0f} s"
    return f"all {t['of']} grokked by epoch {t['epoch']}{secs}"


def _key_numbers(n: Numbers) -> list[tuple[str, str]]:
    o = n["omega"]
    peak, at = _peak(o["epochs"], o["count"])
    peak_a, at_a = _peak(o["dominant_epochs"], o["count_dominant"])
    nu = n["neurons"]
    return [
        ("mean final validation accuracy", f"{_mean(n['final_valid_acc']):.3f}"),
        ("mean final train accuracy", f"{_mean(n['final_train_acc']):.3f}"),
        ("sub-tasks grokked", f"{len(grokked(n))} / {len(n['grok_epoch'])}"),
        ("time to grok (last sub-task in the loss)", time_to_grok_text(n.get("time_to_grok"))),
        ("positional correlation r(x0, x1)", f"{n['pos_emb_corr']:.3f}"),
        ("key frequencies of W_E", _freqs(n["fourier"]["key_freqs"])),
        ("SVD components for 50 % / 90 %", f"{n['svd']['n50']} / {n['svd']['n90']}"),
        ("neurons in a frequency cluster", f"{nu['clustered']} / {nu['n_neurons']}"),
        (f"|omega| final (peak, epoch) [mean + {o['k']:g} std]",
         f"{o['count'][-1] if o['count'] else 0} ({peak} at {at})"
         + (" saturated at this p" if o.get("saturated") else "")),
        ("calibrated |omega| final (peak, epoch)", _calibrated(o)),
        ("|omega| of untrained models", f"{o['reference_count']:.1f}"),
        ("frequencies dominating neurons final (peak, epoch)",
         f"{o['count_dominant'][-1] if o['count_dominant'] else 0} ({peak_a} at {at_a})"),
    ] + ([("one basis per prime?", _one_basis_short(n))] if n.get("per_subtask") else [])


def read_curves(n: Numbers) -> str:
    g = grokked(n)
    acc = _mean(n["final_valid_acc"])
    if not g:
        return ("No sub-task grokked (validation accuracy never reached 0.99 to stay); "
                f"mean final validation accuracy {acc:.2f}.")
    order = n["grok_order"]
    first = order[0]
    e = n["grok_epoch"][n["subtasks"].index(first[0])]
    return (f"{len(g)} of {len(n['grok_epoch'])} sub-tasks grokked; first q = {', '.join(map(str, first))} "
            f"at epoch {e}; mean final validation accuracy {acc:.2f}.")


def read_pos_emb(n: Numbers) -> str:
    r = n["pos_emb_corr"]
    if r >= 0.5:
        return (f"The two input positions are embedded alike (r = {r:.2f}): "
                "x0 and x1 are read the same way, as a commutative task invites.")
    if r <= -0.5:
        return (f"The two input positions are embedded in opposite directions (r = {r:.2f}): "
                "x0 and x1 play different roles.")
    return f"The two input positions are only weakly related (r = {r:.2f})."


def read_svd(n: Numbers) -> str:
    s = n["svd"]
    k = len(s["singular_values"])
    shape = "low-dimensional" if s["n90"] <= k // 3 else "spread over many directions"
    return (f"{s['n50']} of {k} singular directions hold half of W_E's variance and {s['n90']} hold 90 %: "
            f"the token embedding is {shape}.")


def read_fourier(n: Numbers) -> str:
    f = n["fourier"]["key_freqs"]
    if not f:
        return "No key frequency: W_E has no significant periodic structure (expected for an untrained or basis model)."
    return (f"{len(f)} key frequenc{'y' if len(f) == 1 else 'ies'} ({', '.join(map(str, f))}): "
            "the token embedding is built from these waves.")


def read_neurons(n: Numbers) -> str:
    nu = n["neurons"]
    top = list(nu["clusters"].items())[:3]
    tops = ", ".join(f"k = {k} ({c} neurons)" for k, c in top) or "none"
    return (f"On average a neuron's top frequency explains {nu['mean_frac_explained']:.0%} of its variance; "
            f"largest clusters: {tops}.")


def read_neuron_clusters(n: Numbers) -> str:
    nu = n["neurons"]
    return (f"{nu['clustered']} of {nu['n_neurons']} neurons are dominated "
            f"(>= {nu['cluster_min_frac']:.0%}) by one frequency, "
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


# One basis per prime? (``per_subtask``; the rules are analysis.subtasks's, docs/per-subtask.md)


def one_basis(n: Numbers) -> dict[str, Any]:
    """The counts behind ``analysis.subtasks.read_one_basis`` over the grokked sub-tasks, and its verdict:
    own (a key k of q with no key alias of another sub-task), settled (only ambiguous keys, one settled
    by the neurons), ambiguous (only unsettled ones), none, neurons (serving neurons), shared."""
    per = n["per_subtask"]
    qs = [str(q) for q in grokked(n) if str(q) in per]
    own = [q for q in qs if any(not per[q]["ambiguous"][str(k)] for k in per[q]["key_freqs"])]
    res = [q for q in qs if q not in own and any(per[q].get("resolved", {}).values())]
    amb = [q for q in qs if per[q]["key_freqs"] and q not in own and q not in res]
    neur = [q for q in qs if per[q]["neurons"] > 0]
    basis = len(own) + len(res)
    verdict = (None if not qs else "supported" if basis == len(qs) and len(neur) == len(qs)
               else "not supported" if not basis and not neur else "partly supported")
    return {"grokked": len(qs), "own": len(own), "settled": len(res), "ambiguous": len(amb),
            "none": len(qs) - basis - len(amb), "neurons": len(neur),
            "shared": sum(per[q]["shared_neurons"] > 0 for q in neur), "verdict": verdict}


def _one_basis_short(n: Numbers) -> str:
    c = one_basis(n)
    if c["verdict"] is None:
        return "not readable (no grokked sub-task)"
    return (f"{c['verdict']}: {c['own'] + c['settled']} of {c['grokked']} grokked have an own or settled W_E key, "
            f"{c['neurons']} serving neurons")


def read_one_basis_section(n: Numbers) -> str:
    """The section's reading: ``analysis.subtasks.read_one_basis`` over the grokked sub-tasks."""
    if not n.get("per_subtask"):
        return _no_per(n)
    return read_one_basis(n["per_subtask"], grokked(n)) + "."


def _no_per(n: Numbers) -> str:
    """Why a run has no ``per_subtask``: its task, or an analysis.json written before it existed."""
    if n["config"].get("task") in ("miiii", "masked", "basis"):
        return "No per-sub-task analysis in this analysis.json (written before it existed): re-run miiii analyze."
    return f"task={n['config'].get('task')} has no sub-task per prime q: no per-sub-task analysis."


def _qs(qs: list[str], limit: int = 10) -> str:
    return ", ".join(qs[:limit]) + (", ..." if len(qs) > limit else "") if qs else "none"


def read_subtask_energy(n: Numbers) -> str:
    per = n.get("per_subtask")
    if not per:
        return _no_per(n)
    keyed = [q for q in per if per[q]["key_freqs"]]
    keys = [(q, str(k)) for q in keyed for k in per[q]["key_freqs"]]
    amb = [(q, k) for q, k in keys if per[q]["ambiguous"][k]]
    settled = [(q, k) for q, k in amb if per[q].get("resolved", {}).get(k)]
    if not keys:
        return f"No key (q, k) pair in W_E for any of the {len(per)} sub-tasks: no period-q structure beyond noise."
    return (f"{len(keyed)} of {len(per)} sub-tasks have key (q, k) pairs in W_E ({len(keys)} pairs); "
            f"{len(amb)} of the pairs are ambiguous (a key alias of another sub-task is key too), "
            f"{len(settled)} of those settled by the neurons; "
            f"no key for q = {_qs([q for q in per if q not in keyed])}.")


def read_subtask_progress(n: Numbers) -> str:
    per = n.get("per_subtask")
    if not per:
        return _no_per(n)
    low = [q for q in per if per[q]["restricted_loss"] is not None and per[q]["restricted_loss"] <= RESTRICTED_LOW]
    high = [q for q in per if per[q]["excluded_loss"] is not None and per[q]["excluded_loss"] >= EXCLUDED_HIGH]
    both = [q for q in low if q in high]
    first = []
    for q in map(str, grokked(n)):
        pr = per.get(q, {}).get("progress") or {}
        at = [e for e, r in zip(pr.get("epochs", []), pr.get("restricted_loss", []))
              if r is not None and r <= RESTRICTED_LOW]
        g = n["grok_epoch"][n["subtasks"].index(int(q))]
        first.append(f"q = {q}: {at[0] if at else 'never'} (grokked at {g})")
    return (f"With the key k's of the analysed epoch, restricted loss <= {RESTRICTED_LOW:g} for {len(low)} of "
            f"{len(per)} sub-tasks and excluded loss >= {EXCLUDED_HIGH:g} for {len(high)}; the key k's carry "
            f"q = {_qs(both)}. Restricted loss first <= {RESTRICTED_LOW:g} at "
            + ("; ".join(first) if first else "(no grokked sub-task)") + ".")


def read_subtask_neurons(n: Numbers) -> str:
    per = n.get("per_subtask")
    if not per:
        return _no_per(n)
    qs = sorted(per, key=int)
    served = sum(per[q]["neurons"] for q in qs)
    total = n.get("neurons", {}).get("n_neurons", "?")
    counts = ", ".join(f"{q}: {per[q]['neurons']}" for q in qs[:12]) + (", ..." if len(qs) > 12 else "")
    shared = [q for q in qs if per[q]["shared_neurons"]]
    return (f"{served} of {total} neurons serve one sub-task (W_U share and features agree; per q {counts}); "
            f"{sum(per[q]['neurons_by_attribution'] for q in qs)} have their largest W_U share for some q and "
            f"{sum(per[q]['neurons_by_features'] for q in qs)} a best pair (>= 50 %) of some q; neurons with a real "
            f"share for two or more sub-tasks reach q = {_qs(shared)}.")
