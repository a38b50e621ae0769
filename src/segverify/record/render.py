"""The record's trend as plain text tables."""

from __future__ import annotations

import unicodedata

from ..escape import one_line
from .history import Trend


def width(text: str) -> int:
    """Columns a terminal gives ``text``: Japanese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return lines


def render_trends(result: list[Trend], location: str) -> str:
    if not result:
        return f"{location}: the record holds no runs yet\n"
    out: list[str] = []
    for t in result:
        out.append(f"{one_line(t.topology)}: {len(t.runs)} run(s) in {location}")
        out += ["  " + line for line in _table(
            ("run", "date", "profile", "verdict", "open", "opened", "fixed", "revision"),
            [(str(r.id), r.date, r.profile, "compliant" if r.compliant else "NOT COMPLIANT", str(r.open),
              str(r.opened), str(r.fixed), (r.git_revision or "-")[:12]) for r in t.runs])]
        out.append("")
        still = sum(1 for f in t.findings if f.fixed_on is None)
        out.append(f"  findings: {len(t.findings)} seen, {len(t.findings) - still} fixed, {still} still open")
        if t.findings:
            out += ["  " + line for line in _table(
                ("fingerprint", "rule", "first seen", "last seen", "fixed on", "days to fix", "title"),
                [(f.fingerprint[:12], f.rule, f.first_seen, f.last_seen, f.fixed_on or "open",
                  "-" if f.days_to_fix is None else str(f.days_to_fix), f.title) for f in t.findings])]
        out.append("")
        if t.expiring:
            out.append(f"  exceptions expiring within {t.horizon_days} days of {t.today}:")
            out += ["  " + line for line in _table(
                ("exception", "rule", "expires", "days left", "owner", "ticket"),
                [(e.id, e.rule, e.expires, str(e.days_left), e.owner, e.ticket) for e in t.expiring])]
        else:
            out.append(f"  no exception expires within {t.horizon_days} days of {t.today}")
        out.append("")
    return "\n".join(out)
