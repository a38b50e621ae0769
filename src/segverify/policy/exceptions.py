"""The exception register (例外措置): which exceptions may relax findings, and which are used."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..headers import Bdd, HeaderSpace
from ..model import ExceptionDecl


@dataclass
class Register:
    space: HeaderSpace
    exceptions: tuple[ExceptionDecl, ...]
    today: _dt.date
    used: set[str] = field(default_factory=set)

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
        relaxed = []
        for e in self.for_rule(rule):
            scope = self.scopes[e.id]
            if (headers & scope) != self.space.false:
                relaxed.append(e.id)
                self.used.add(e.id)
                headers = headers & ~scope
        return headers, tuple(relaxed)

    def status(self, e: ExceptionDecl) -> str:
        if self.missing_fields(e):
            return "incomplete"
        if self.expired(e):
            return "expired"
        return "active" if e.id in self.used else "unused"
