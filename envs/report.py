"""The report of an env's check: what :func:`gymsuite.envs.check.check` and
:func:`gymsuite.envs.multiagent.check.check_multiagent` both return."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckReport:
    """Problems (training cannot work) and warnings (it may, but look) found in an env."""

    env: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"environment {self.env}: " + ("passed its check" if self.ok else "failed its check")
        lines = [head] + [f"  error: {p}" for p in self.problems] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)
