"""The complexity grade of landing rules §7: A-D overall and per O, F, V, A. Pure.

O objects = 1 - compatibility; F fields = 1 - mean confidence of the confirmed field
lines; V volume = min(days / 10, 1); A API = min(W / 6, 1) where W counts the
workarounds used plus 2 per exceeded plan cap. Overall = 0.35 O + 0.25 F + 0.25 V +
0.15 A; grade A below 0.20, B below 0.35, C below 0.50, else D.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

WEIGHTS = {"O": 0.35, "F": 0.25, "V": 0.25, "A": 0.15}
#: (upper bound, grade), first match wins.
BANDS = ((0.20, "A"), (0.35, "B"), (0.50, "C"))
#: The workarounds §7 counts, in its order.
WORKAROUNDS = (
    "markers",
    "deal_date_fields",
    "organization_relationships",
    "files",
    "contact_sync_fallback",
    "custom_activity_types",
    "deal_products",
)


def grade_of(score: float) -> str:
    """A below 0.20, B below 0.35, C below 0.50, else D."""
    return next((g for bound, g in BANDS if score < bound), "D")


@dataclass(frozen=True)
class Complexity:
    """The four scores, the overall score, the grades and the inputs that made them."""

    scores: dict[str, float]
    overall: float
    inputs: dict[str, Any]

    @property
    def grade(self) -> str:
        """The overall grade."""
        return grade_of(self.overall)

    @property
    def grades(self) -> dict[str, str]:
        """The grade of each score on the same bands."""
        return {k: grade_of(v) for k, v in self.scores.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: grade, overall, per-score value and grade, inputs."""
        return {
            "grade": self.grade,
            "overall": round(self.overall, 4),
            "scores": {
                k: {"score": round(v, 4), "grade": grade_of(v), "weight": WEIGHTS[k]}
                for k, v in self.scores.items()
            },
            "inputs": self.inputs,
        }


def complexity(
    *,
    compatibility_percent: float,
    confidences: Sequence[float],
    days: float,
    workarounds: Iterable[str],
    exceeded_caps: int,
) -> Complexity:
    """Grade a migration from its §7 inputs."""
    used = sorted(set(workarounds), key=lambda w: WORKAROUNDS.index(w) if w in WORKAROUNDS else 99)
    mean = sum(confidences) / len(confidences) if confidences else 1.0
    w = len(used) + 2 * exceeded_caps
    scores = {
        "O": 1 - compatibility_percent / 100,
        "F": 1 - mean,
        "V": min(days / 10, 1.0),
        "A": min(w / 6, 1.0),
    }
    overall = sum(WEIGHTS[k] * v for k, v in scores.items())
    inputs = {
        "compatibility_percent": compatibility_percent,
        "field_lines": len(confidences),
        "mean_confidence": round(mean, 4),
        "days": round(days, 4),
        "workarounds": used,
        "exceeded_caps": exceeded_caps,
        "W": w,
    }
    return Complexity(scores, overall, inputs)
