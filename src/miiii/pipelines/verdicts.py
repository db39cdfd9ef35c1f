"""The five verdicts, the parts they are read from, and censoring-aware order (docs/study.md, verdicts).

A claim has parts; each part has a status decided by its rule:

* ``holds``   — significant in the claim's direction (or its interval lies where the claim says);
* ``fails``   — significantly the other way, or its interval excludes the claim's value;
* ``open``    — neither: the interval holds both the claim and its negation, or the test
  cannot reach α on these runs;
* ``control`` — it holds, but it holds for the control too (λ > 0, dropout > 0, untrained,
  basis), so it cannot tell the claim's condition from the control's: listed, not counted.

The claim's verdict, from its counted parts (every part but ``control``):

* ``reproduced``   — every counted part holds;
* ``partly``       — some hold, not all;
* ``differs``      — none holds and some fails: the effect is significantly opposite
  (``reason`` "opposite") or an interval excludes the claim's value ("excluded");
* ``inconclusive`` — none holds and none fails: testable, but the data allow both the claim
  and its negation (also when every part holds for the control too);
* ``not testable`` — the run set cannot decide it, with ``reason``: ``size`` (too few runs, or a
  p too small for the sub-tasks it names: the main test cannot reach α on the values observed,
  ties included), ``budget`` (the preset's epoch or time budget: nothing the claim needs grokked,
  or a role left out for time) or ``saturation`` (the measure is at its ceiling at this size).

Grok times are censoring-aware: t = ``grok_epoch``, or +inf when censored (not grokked, or only
in the budget's last 5 %). ``before(a, b)`` decides "a groks before b" wherever censoring
decides it: a finite time is before a censored one; two censored times, or a tie at the logging
resolution, are undetermined (``None``): counted and reported, never a failure.

These definitions replace the four-verdict ones after an audit of seen results (2026-12-07).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import stats as st

REPRODUCED, PARTLY, DIFFERS, INCONCLUSIVE, UNTESTABLE = (
    "reproduced", "partly", "differs", "inconclusive", "not testable")
VERDICTS = (REPRODUCED, PARTLY, DIFFERS, INCONCLUSIVE, UNTESTABLE)
HOLDS, FAILS, OPEN, CONTROL = "holds", "fails", "open", "control"
STATUSES = (HOLDS, FAILS, OPEN, CONTROL)
REASONS = ("size", "budget", "saturation", "opposite", "excluded")

# One definition of each verdict: docs/study.md, fidelity.json ("definitions") and the report.
DEFINITIONS = {
    REPRODUCED: "every counted part holds",
    PARTLY: "some counted parts hold, not all",
    DIFFERS: "no part holds and some fails: the effect is significantly opposite, or its interval "
             "excludes the claim's value",
    INCONCLUSIVE: "testable, but no part holds or fails: the intervals hold both the claim and its negation",
    UNTESTABLE: "the run set cannot decide it: size (too few runs or too small a p; the smallest reachable "
                "p is shown), budget (the epoch or time budget) or saturation (the measure at its ceiling)",
}
PART_DEFINITIONS = {
    HOLDS: "significant in the claim's direction, or its interval lies where the claim says",
    FAILS: "significantly the other way, or its interval excludes the claim's value",
    OPEN: "neither: the interval holds both, or the test cannot reach α here",
    CONTROL: "holds, but holds for the control too: not counted",
}


@dataclass(frozen=True)
class Part:
    name: str
    status: str
    comparison: str = ""  # what the part is compared with (chance, the control role, a range)
    note: str = ""  # e.g. the undetermined seeds, or why it is open
    kind: str = "test"  # "test" (a fail is an opposite effect) or "interval" (a fail excludes the value)

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.name, "status": self.status, "holds": self.status == HOLDS,
                "comparison": self.comparison, "note": self.note}

    def text(self) -> str:
        extra = "; ".join(x for x in (f"vs {self.comparison}" if self.comparison else "", self.note) if x)
        return f"{self.name}: {self.status}" + (f" ({extra})" if extra else "")


@dataclass(frozen=True)
class Claim:
    id: str
    study: str
    measured: str
    verdict: str
    n: int = 0  # runs entering the claim's test(s)
    p: float | None = None  # p of the claim's main test (None: no test applies)
    effect: float | None = None  # the main test's effect size ...
    interval: tuple[float, float] | None = None  # ... and its 95 % interval
    test: str = ""  # the statistic and the test, in words
    parts: tuple[Part, ...] = ()
    reason: str | None = None  # not testable: size | budget | saturation; differs: opposite | excluded
    p_min: float | None = None  # the main test's smallest reachable p on the observed values

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "study": self.study, "measured": self.measured, "verdict": self.verdict,
                "n": self.n, "p": self.p, "p_min": self.p_min, "effect": self.effect,
                "interval": list(self.interval) if self.interval else None, "test": self.test,
                "parts": [p.to_dict() for p in self.parts], "reason": self.reason}


def part(name: str, t: st.Test, comparison: str = "", note: str = "", extra: bool = True) -> Part:
    """A part read from a test: ``holds`` needs ``extra`` too (e.g. "in at least half the seeds")."""
    status = t.outcome
    if status == HOLDS and not extra:
        status = OPEN
    if not t.reachable and status == OPEN:
        note = "; ".join(x for x in (note, f"cannot reach p < {st.ALPHA} with n = {t.n}") if x)
    return Part(name, status, comparison, note)


def against_control(p: Part, control: st.Test, role: str) -> Part:
    """``p`` unless it holds and the same test on the control role is significant too."""
    if p.status == HOLDS and control.significant:
        return Part(p.name, CONTROL, f"{role} (holds there too: {control.effect_text('.0%')})", p.note, p.kind)
    return Part(p.name, p.status, p.comparison or role, p.note, p.kind)


def verdict(parts: Sequence[Part]) -> str:
    counted = [p.status for p in parts if p.status != CONTROL]
    if counted and all(s == HOLDS for s in counted):
        return REPRODUCED
    if HOLDS in counted:
        return PARTLY
    return DIFFERS if FAILS in counted else INCONCLUSIVE


def judge(id_: str, study: str, measured: str, parts: Sequence[Part], main: st.Test,
          undetermined: int = 0) -> Claim:
    """The verdict of the parts, or "not testable" when the main test cannot reach α on the values
    observed (unless it is significant the other way: that the data can show). The reason is
    ``budget`` when seeds undetermined by censoring left it too few, else ``size``."""
    parts = tuple(parts)
    if not main.reachable and not main.opposite:
        reason = "budget" if undetermined else "size"
        left = f", {undetermined} seed(s) undetermined by censoring" if undetermined else ""
        why = (f"{reason}: on the values observed the {main.name} with n = {main.n}{left} cannot reach "
               f"p < {st.ALPHA} (smallest reachable p {main.p_min:.3g})")
        return Claim(id_, study, f"{why}. {measured}", UNTESTABLE, main.n, main.p, main.effect, main.interval,
                     main.name, parts, reason, main.p_min)
    v = verdict(parts)
    reason = None
    if v == DIFFERS:
        kinds = {p.kind for p in parts if p.status == FAILS}
        reason = "opposite" if "test" in kinds else "excluded"
    shown = "; ".join(p.text() for p in parts)
    return Claim(id_, study, f"{measured}. Parts — {shown}", v, main.n, main.p, main.effect, main.interval,
                 main.name, parts, reason, main.p_min)


def untestable(id_: str, study: str, reason: str, why: str, n: int = 0) -> Claim:
    return Claim(id_, study, f"{reason}: {why}", UNTESTABLE, n, reason=reason)


# ---- censoring-aware order ----------------------------------------------------------------------


def before(a: float, b: float) -> bool | None:
    """Whether time a is before time b (+inf: censored): None when both are censored or tied."""
    if a < b:
        return True
    if b < a:
        return False
    return None


def chain(states: Sequence[bool | None]) -> bool | None:
    """All of a chain of comparisons: False if any fails, True if all hold, else undetermined."""
    if any(s is False for s in states):
        return False
    return True if all(s is True for s in states) else None


def undetermined(states: Sequence[bool | None]) -> int:
    return sum(s is None for s in states)


def count_text(states: Sequence[bool | None]) -> str:
    """``"3/4 seeds (1 undetermined)"``: holds over decided seeds, undetermined counted beside."""
    decided = [s for s in states if s is not None]
    u = undetermined(states)
    return f"{sum(decided)}/{len(decided)} seeds" + (f" ({u} undetermined)" if u else "")


def finite(xs: Sequence[float]) -> list[float]:
    return [x for x in xs if math.isfinite(x)]
