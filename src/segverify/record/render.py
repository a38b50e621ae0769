"""The record's trend as plain text tables."""

from __future__ import annotations

from ..escape import one_line
from ..i18n import localize, text
from ..words import display_width as width
from .history import Trend


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return lines


def render_trends(result: list[Trend], location: str, lang: str = "en") -> str:
    def say(key: str, **params: object) -> str:
        return text(lang, key, **params)

    def heads(*names: str) -> tuple[str, ...]:
        return tuple(say(f"history.col.{n}") for n in names)

    if not result:
        return say("history.empty", db=location) + "\n"
    out: list[str] = []
    for t in result:
        out.append(say("history.runs", topology=one_line(t.topology), n=len(t.runs), db=location))
        out += ["  " + line for line in _table(
            heads("run", "date", "profile", "verdict", "open", "opened", "fixed", "revision"),
            [(str(r.id), r.date, r.profile, say("history.compliant" if r.compliant else "record.not_compliant"),
              str(r.open), str(r.opened), str(r.fixed), (r.git_revision or "-")[:12]) for r in t.runs])]
        out.append("")
        still = sum(1 for f in t.findings if f.fixed_on is None)
        out.append("  " + say("history.findings", seen=len(t.findings), fixed=len(t.findings) - still, open=still))
        if t.findings:
            out += ["  " + line for line in _table(
                heads("fingerprint", "rule", "first", "last", "fixed_on", "days", "title"),
                [(f.fingerprint[:12], f.rule, f.first_seen, f.last_seen, f.fixed_on or say("history.still_open"),
                  "-" if f.days_to_fix is None else str(f.days_to_fix), localize(f.title, lang))
                 for f in t.findings])]
        out.append("")
        if t.expiring:
            out.append("  " + say("history.expiring", days=t.horizon_days, today=t.today))
            out += ["  " + line for line in _table(
                heads("exception", "rule", "expires", "days_left", "owner", "ticket"),
                [(e.id, e.rule, e.expires, str(e.days_left), e.owner, e.ticket) for e in t.expiring])]
        else:
            out.append("  " + say("history.none_expiring", days=t.horizon_days, today=t.today))
        out.append("")
    return "\n".join(out)
