"""The exception register (例外措置): which exceptions may relax findings, and which are used."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from ..headers import Bdd, HeaderSpace
from ..model import ExceptionDecl


@dataclass
class Register:
    space: HeaderSpace
    exceptions: tuple[ExceptionDecl, ...]
    today: _dt.date

    def __post_init__(self) -> None:
        self.scopes = {e.id: self.space.match(e.scope) for e in self.exceptions}

    @staticmethod
    def missing_fields(e: ExceptionDecl) -> list[str]:
        return [name for name, value in (("owner", e.owner), ("justification", e.justification),
                                         ("expires", e.expires)) if not value]

    def expired(self, e: ExceptionDecl) -> bool:
        return e.expires is not None and e.expires < self.today

    def valid(self, e: ExceptionDecl) -> bool:
        return not self.expired(e) and not self.missing_fields(e)

    def for_rule(self, rule: str) -> list[ExceptionDecl]:
        return [e for e in self.exceptions if e.rule == rule and self.valid(e)]

    def relax(self, rule: str, headers: Bdd) -> tuple[Bdd, tuple[str, ...]]:
        """``headers`` (as sent, no origin ids) less what valid exceptions of ``rule`` allow.

        Returns the remainder and the ids of the exceptions that covered some of it."""
        relaxed = self.covering(rule, headers)
        for eid in relaxed:
            headers = headers & ~self.scopes[eid]
        return headers, relaxed

    def covering(self, rule: str, headers: Bdd) -> tuple[str, ...]:
        """The valid exceptions of ``rule`` whose scope meets ``headers``."""
        return tuple(e.id for e in self.for_rule(rule) if (headers & self.scopes[e.id]) != self.space.false)

    def status(self, e: ExceptionDecl, used: frozenset[str]) -> str:
        """``used``: the exceptions some finding names (rules.exceptions_used)."""
        if self.missing_fields(e):
            return "incomplete"
        if self.expired(e):
            return "expired"
        return "active" if e.id in used else "unused"
