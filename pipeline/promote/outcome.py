"""What a promotion, or one stage of it, ended as."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.promote.model import PromotionOutcome, StageOutcome, exit_code


@dataclass
class Outcome:
    """What a promotion (or one stage of it) ended as; ``code`` comes from the one table
    (pipeline.promote.model.EXIT_CODES)."""

    code: int
    outcome: PromotionOutcome | StageOutcome
    message: str
    stages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        outcome: PromotionOutcome | StageOutcome,
        message: str,
        stages: dict[str, str] | None = None,
    ) -> Outcome:
        return cls(exit_code(outcome), outcome, message, stages or {})

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "outcome": str(self.outcome),
            "message": self.message,
            "stages": self.stages,
        }
