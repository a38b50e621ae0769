"""The self-inspection record in the report: the trend as a chart (inline SVG, drawn here: a few
dozen shapes, no library) and as tables.

Each bar and point carries its run and value in ``data-`` attributes and a ``<title>`` a browser
shows on hover, so what the chart says can be read back exactly (the tests do).
"""

from __future__ import annotations

import html

from ..i18n import localize, text
from ..record.history import Trend

CHART_RUNS = 40  # the chart shows the latest runs; the table lists every one
OPENED, FIXED, OPEN, EXPIRING = "#c62828", "#2e7d32", "#1f3a5f", "#ef6c00"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ticks(top: int) -> list[int]:
    """0 up to at least ``top`` in round steps (1, 2, 5, 10, 20, ...), at most five above zero."""
    scale = 1
    while True:
        for base in (1, 2, 5):
            step = base * scale
            count = -(-max(top, 1) // step)
            if count <= 5:
                return list(range(0, step * count + 1, step))
        scale *= 10


def trend_chart(trend: Trend, lang: str) -> str:
    """Findings opened and fixed per run (bars) and open after each run (a line)."""
    runs = trend.runs[-CHART_RUNS:]
    ticks = _ticks(max([max(r.opened, r.fixed, r.open) for r in runs] + [1]))
    top = ticks[-1]
    left, right, upper, lower, slot = 44, 16, 38, 46, 56
    width = max(left + right + slot * len(runs), 300)
    height = 240
    plot = height - upper - lower

    def y(value: int) -> float:
        return upper + plot - plot * value / top

    say = {k: text(lang, f"history.col.{k}") for k in ("opened", "fixed", "open", "run")}
    out = [f'<svg id="trend-chart" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{esc(text(lang, "report.record_chart"))}">']
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e0e0e0"/>'
                   f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11">{t}</text>')
    points = []
    for i, r in enumerate(runs):
        x = left + slot * i + 8
        for k, (cls, value, colour) in enumerate((("opened", r.opened, OPENED), ("fixed", r.fixed, FIXED))):
            out.append(f'<rect class="{cls}" data-run="{r.id}" data-value="{value}" x="{x + k * 19}" '
                       f'y="{y(value):.1f}" width="17" height="{y(0) - y(value):.1f}" fill="{colour}">'
                       f'<title>{esc(say["run"])} {r.id} ({esc(r.date)}): {esc(say[cls])} {value}</title></rect>')
        centre = left + slot * i + slot / 2
        points.append((centre, y(r.open), r))
        out.append(f'<text x="{centre:.1f}" y="{height - lower + 16}" text-anchor="middle" font-size="11">'
                   f'#{r.id}</text><text x="{centre:.1f}" y="{height - lower + 30}" text-anchor="middle" '
                   f'font-size="9" fill="#555">{esc(r.date)}</text>')
    if len(points) > 1:
        out.append(f'<polyline fill="none" stroke="{OPEN}" stroke-width="2" points="'
                   + " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points) + '"/>')
    for px, py, r in points:
        out.append(f'<circle class="open" data-run="{r.id}" data-value="{r.open}" cx="{px:.1f}" cy="{py:.1f}" r="4" '
                   f'fill="{OPEN}"><title>{esc(say["run"])} {r.id} ({esc(r.date)}): {esc(say["open"])} {r.open}'
                   f'</title></circle>')
    legend_x = left
    for cls, colour in (("opened", OPENED), ("fixed", FIXED), ("open", OPEN)):
        out.append(f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{legend_x + 16}" y="18" font-size="12">{esc(say[cls])}</text>')
        legend_x += 24 + 13 * max(len(say[cls]), 3)
    out.append("</svg>")
    return "".join(out)


def expiry_chart(trend: Trend, lang: str) -> str:
    """The exceptions expiring within the horizon: one bar each, as long as the days left."""
    rows = trend.expiring
    label_w, bar_w, row_h = 150, 360, 22
    width, height = label_w + bar_w + 90, 30 + row_h * len(rows)
    horizon = max(trend.horizon_days, 1)
    out = [f'<svg id="expiry-chart" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{esc(text(lang, "report.expiring", days=trend.horizon_days, today=trend.today))}">']
    out.append(f'<line x1="{label_w}" x2="{label_w + bar_w}" y1="18" y2="18" stroke="#bbb"/>'
               f'<text x="{label_w}" y="12" font-size="10">0</text>'
               f'<text x="{label_w + bar_w}" y="12" font-size="10" text-anchor="end">{horizon}</text>')
    for i, e in enumerate(rows):
        top = 24 + row_h * i
        length = bar_w * e.days_left / horizon
        out.append(f'<text x="{label_w - 6}" y="{top + 14}" text-anchor="end" font-size="11">{esc(e.id)}</text>'
                   f'<rect class="expiring" data-exception="{esc(e.id)}" data-days="{e.days_left}" x="{label_w}" '
                   f'y="{top + 3}" width="{max(length, 2):.1f}" height="14" fill="{EXPIRING}"><title>{esc(e.id)}: '
                   f'{esc(text(lang, "history.col.expires"))} {esc(e.expires)}</title></rect>'
                   f'<text x="{label_w + max(length, 2) + 6:.1f}" y="{top + 14}" font-size="11">'
                   f'{esc(text(lang, "report.days_left", n=e.days_left))}</text>')
    out.append("</svg>")
    return "".join(out)


def _table(table_id: str, heads: tuple[str, ...], rows: list[tuple[str, ...]], lang: str) -> str:
    head = "".join(f"<th>{esc(text(lang, f'history.col.{h}'))}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'


def record_section(trend: Trend | None, location: str, lang: str, heading: str) -> str:
    """Section 9 of the report: the trend of this network in the record at ``location``."""
    out = [f'<section id="s_record"><h2>{esc(heading)}</h2>']
    if trend is None or not trend.runs:
        out.append(f'<p id="record-none">{esc(text(lang, "report.record_none", db=location))}</p></section>')
        return "".join(out)
    out.append(f'<p>{esc(text(lang, "report.record_caption", db=location, n=len(trend.runs)))}</p>')
    out.append(f"<figure>{trend_chart(trend, lang)}</figure>")
    verdict = {True: text(lang, "report.pass"), False: text(lang, "report.fail")}
    out.append(_table("record-runs", ("run", "date", "profile", "verdict", "open", "opened", "fixed", "revision"),
                      [(str(r.id), r.date, r.profile, verdict[r.compliant], str(r.open), str(r.opened), str(r.fixed),
                        (r.git_revision or "-")[:12]) for r in trend.runs], lang))
    if trend.findings:
        still = text(lang, "history.still_open")
        out.append(_table("record-findings", ("rule", "title", "first", "last", "fixed_on", "days"),
                          [(f.rule, localize(f.title, lang), f.first_seen, f.last_seen, f.fixed_on or still,
                            "-" if f.days_to_fix is None else str(f.days_to_fix)) for f in trend.findings], lang))
    out.append(f'<h3>{esc(text(lang, "report.expiring", days=trend.horizon_days, today=trend.today))}</h3>')
    if trend.expiring:
        out.append(f"<figure>{expiry_chart(trend, lang)}</figure>")
        out.append(_table("record-expiring", ("exception", "rule", "expires", "days_left", "owner", "ticket"),
                          [(e.id, e.rule, e.expires, str(e.days_left), e.owner, e.ticket) for e in trend.expiring],
                          lang))
    else:
        out.append(f'<p>{esc(text(lang, "history.none_expiring", days=trend.horizon_days, today=trend.today))}</p>')
    out.append("</section>")
    return "".join(out)
