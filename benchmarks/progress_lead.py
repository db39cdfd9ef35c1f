"""Do the per-sub-task progress measures move before validation accuracy? (issue 14, item 6)

    python benchmarks/progress_lead.py RUN_DIR [RUN_DIR ...] [--runs 0,1,2,3,4]

Reads ``analysis/analysis.json`` of each run directory (``runs[i].per_subtask[q].progress``:
restricted and excluded loss per checkpoint, in units of ln q, the key k's fixed at the analysed
checkpoint; ``runs[i].grok_first``) and applies the rule stated in docs/per-subtask.md
("Do the progress measures lead?") before the checkpoint-dense runs were looked at:

* t_acc: the sub-task's first logged epoch with validation accuracy >= 0.99 (``grok_first``);
  only sub-tasks with a t_acc enter.
* t_R: the first checkpoint at which the restricted loss is <= 0.5 (half of chance);
  t_E: the first checkpoint at which the excluded loss is >= 1 (chance) after being < 1.
* The restricted loss leads when t_R < t_acc and the checkpoint before t_acc already has it
  <= 0.5 (a lead the checkpoints can see). Per seed: does it lead in the majority of the
  seed's grokked sub-tasks? One-sided sign test over seeds (scipy.stats.binomtest).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats


def first(epochs: list[int], ok: np.ndarray) -> int | None:
    hit = np.flatnonzero(ok)
    return int(epochs[hit[0]]) if hit.size else None


def lead(progress: dict, t_acc: int) -> dict:
    e = list(progress["epochs"])
    r, x = np.asarray(progress["restricted_loss"]), np.asarray(progress["excluded_loss"])
    t_r = first(e, r <= 0.5)
    below = np.cumsum(x < 1.0) > 0  # excluded loss has been below chance ...
    t_e = first(e, below & (x >= 1.0))  # ... and comes back to it
    before = [i for i, ep in enumerate(e) if ep < t_acc]
    seen = bool(before) and r[before[-1]] <= 0.5
    return {"t_acc": t_acc, "t_R": t_r, "t_E": t_e, "R_leads": t_r is not None and t_r < t_acc and seen,
            "checkpoints_before": len(before)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--runs", default="", help="comma list of run indices to keep (default: every miiii-task run)")
    args = ap.parse_args()
    rows, per_seed = [], []
    for rd in args.dirs:
        doc = json.loads((Path(rd) / "analysis" / "analysis.json").read_text())
        for run in doc["runs"]:
            keep = run["run"] in {int(i) for i in args.runs.split(",")} if args.runs else True
            if run["config"]["task"] != "miiii" or "per_subtask" not in run or not keep:
                continue
            seed_rows = []
            for q, t_acc in zip(run["subtasks"], run["grok_first"]):
                if t_acc is None or str(q) not in run["per_subtask"]:
                    continue
                row = {"dir": rd, "run": run["run"], "q": q} | lead(run["per_subtask"][str(q)]["progress"], t_acc)
                seed_rows.append(row)
            rows += seed_rows
            if seed_rows:
                per_seed.append(2 * sum(r["R_leads"] for r in seed_rows) > len(seed_rows))
    print(f"{'dir':<28} run   q    t_acc    t_R    t_E  R leads  ckpts before t_acc")
    for r in rows:
        print(f"{r['dir'][-28:]:<28} {r['run']:>3} {r['q']:>3} {r['t_acc']:>8} {r['t_R']!s:>6} {r['t_E']!s:>6} "
              f"{r['R_leads']!s:>8} {r['checkpoints_before']:>6}")
    k, n = sum(per_seed), len(per_seed)
    if n:
        t = stats.binomtest(k, n, 0.5, alternative="greater")
        print(f"restricted loss leads in {sum(r['R_leads'] for r in rows)}/{len(rows)} (seed, sub-task) pairs; "
              f"in the majority of a seed's grokked sub-tasks in {k}/{n} seeds, one-sided sign test p = {t.pvalue:.3g}")


if __name__ == "__main__":
    main()
