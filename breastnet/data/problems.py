"""Data problems: what is wrong, where, and whether it stops training.

Loaders and checks never stop at the first problem: they collect every one,
so a user fixing a dataset sees the whole list at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

FATAL = "fatal"
WARNING = "warning"

#: Problem codes that only matter when the BI-RADS regression task is trained.
BIRADS_CODES = ("birads-missing", "birads-unknown")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset.

    Args:
        severity: FATAL (training refuses to start) or WARNING (recorded).
        code: short machine-readable class, e.g. "image-missing".
        where: the file or CSV row concerned.
        message: what is wrong, with the numbers.
    """

    severity: str
    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.where}: {self.message} ({self.code})"

    def to_dict(self) -> dict:
        return asdict(self)


class DataError(ValueError):
    """Raised when a dataset has problems that make training meaningless."""

    def __init__(self, problems, context: str = "dataset"):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{context} has {len(self.problems)} fatal problem(s):\n{lines}")


def fatal_problems(problems, needs_birads: bool = False) -> list[Problem]:
    """Problems that stop training.

    Args:
        problems: iterable of Problem.
        needs_birads: True for multi-task variants; BI-RADS problems are then fatal
            even when recorded as warnings (a single-task run does not read BI-RADS).
    """
    out = []
    for p in problems:
        if p.severity == FATAL or (needs_birads and p.code in BIRADS_CODES):
            out.append(p)
    return out


def raise_if_fatal(problems, needs_birads: bool = False, context: str = "dataset"):
    """Raise DataError listing every fatal problem, if there is any."""
    fatal = fatal_problems(problems, needs_birads=needs_birads)
    if fatal:
        raise DataError(fatal, context=context)
