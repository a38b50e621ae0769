"""One self-contained HTML audit report, in Japanese or English.

The page embeds its pictures as data: URIs (SVG), loads nothing, runs only the interactive map's
own script (viz/map_script.py, allowed by its hash in the Content-Security-Policy), and escapes every
string that comes from the topology (names, descriptions, owners, justifications, file names):
a topology is user input, and the report is opened by people in a browser.
"""

from __future__ import annotations

import base64
import html
from collections import Counter
from typing import Callable

from ..findings import Finding, Report, Severity
from ..matrix import Crossing, Matrix
from ..model import ImportScope, NodeKind, Segment, Topology
from ..network import Network
from ..policy.catalogue import CATALOGUE
from ..trace import AclDecision, Hop, Path
from ..i18n import catalogue, localize, text
from ..record.history import Trend
from . import atlas, interactive, template, trend

LANGS = ("ja", "en")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _clause(text: str, lang: str) -> str:
    for old, new in template.CLAUSE_EN if lang == "en" else template.CLAUSE_JA:
        text = text.replace(old, new)
    return text


def rule_summary(rule: str, lang: str) -> str:
    """The rule's requirement in ``lang`` (the catalogue's own words for rules it knows)."""
    texts = catalogue(lang)
    key = f"rule.{rule}.summary"
    return texts[key] if key in texts else (CATALOGUE[rule].summary if rule in CATALOGUE else "")


def _svg_img(data: bytes, alt: str, ident: str) -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
    return f'<img id="{ident}" src="{uri}" alt="{esc(alt)}">'


def _import_scope(scope: ImportScope, w: dict[str, str]) -> str:
    """The snapshot's vendor lines outside the proof (not verified), and how many were widened."""
    n, over = len(scope.not_verified), scope.over_approximated
    head = f'<h3 id="import_scope">{esc(w["import_scope"])}</h3>'
    if not n and not over:
        return head + f"<p>{esc(w['import_all'])}</p>"
    rows = "".join(f"<tr><td><code>{esc(str(span))}</code></td><td>{esc(message)}</td><td><code>{esc(written)}</code>"
                   f"</td></tr>" for span, message, written in scope.not_verified)
    table = (f'<table id="not_verified"><tr><th>{esc(w["import_line"])}</th><th>{esc(w["reason"])}</th>'
             f'<th>{esc(w["vendor_line"])}</th></tr>{rows}</table>') if n else ""
    return head + f'<p>{esc(w["import_counts"].format(n=n, over=over))}</p>' + table


def render_report(topology: Topology, report: Report, matrix: Matrix, lang: str = "ja",
                  network: Network | None = None, warn: Callable[[str], None] | None = None,
                  record: tuple[str, Trend | None] | None = None) -> str:
    """The report as one HTML document (a str). Needs matplotlib for the pictures. ``record``: the
    self-inspection record's location and this network's trend in it (section 9)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}")
    from .. import __version__
    from . import heatmap, map as segmap

    w = template.WORDS[lang]
    net = network or Network(topology)
    large = atlas.at_scale(topology)
    towns: dict[str, bytes] = {}
    if large:  # an overview (one box per municipality and segment), the matrix aggregated, a map per town
        groups = atlas.municipalities(topology, list(net.graph.nodes))

        def town(name: str, members: list[str]) -> Callable[[], bytes]:
            return lambda: segmap.render(segmap.map_figure(topology, net, report, warn=warn, nodes=members,
                                                           subtitle=name, lang=lang), "svg")

        map_svg, heat_svg, *pictures = atlas.drawn_on_two_cores(
            [lambda: segmap.render(atlas.overview_figure(topology, net, report, lang, warn), "svg"),
             lambda: heatmap.render(atlas.aggregate_figure(matrix, topology, lang, warn), "svg"),
             *(town(name, members) for name, members in groups.items())], warn)
        towns = dict(zip(groups, pictures))
    else:
        map_svg = segmap.render(segmap.map_figure(topology, net, report, warn=warn, lang=lang), "svg")
        heat_svg = heatmap.render(heatmap.matrix_figure(matrix, warn=warn, lang=lang), "svg")
    refs = segmap.finding_numbers(report)

    if report.compliant:
        word, cls = (w["pass_warn"] if report.warnings else w["pass"]), "pass"
    else:
        word, cls = w["fail"], "fail"
    counts = w["counts"].format(errors=report.errors, warnings=report.warnings, suppressed=len(report.suppressed))
    parts: list[str] = []
    add = parts.append
    add(f'<header><h1 id="title">{esc(topology.name)}</h1>')
    add(f'<p class="meta">{esc(w["doc_title"])} · {esc(w["profile"])}: <strong id="profile">'
        f'{esc(report.profile)}</strong> · {esc(w["date"])}: {esc(report.today)} · segverify {esc(__version__)}</p>')
    if topology.description:
        add(f"<p>{esc(topology.description)}</p>")
    add("</header>")
    sections = ("s_summary", "s_inventory", "s_matrix", "s_map", "s_findings", "s_exceptions", "s_method",
                "s_trail") + (("s_record",) if record is not None else ())
    add(f'<nav><strong>{esc(w["toc"])}</strong>: ' + " · ".join(
        f'<a href="#{key}">{esc(w[key])}</a>' for key in sections) + "</nav>")

    # 1. verdict
    add(f'<section id="s_summary"><h2>{esc(w["s_summary"])}</h2>')
    add(f'<div id="verdict" class="verdict {cls}" data-compliant="{str(report.compliant).lower()}">'
        f'<span class="word">{esc(word)}</span><span class="counts">{esc(counts)}</span></div>')
    add(f'<table><tr><th>{esc(w["rule"])}</th><th>{esc(w["summary"])}</th><th>{esc(w["clause"])}</th>'
        f'<th>{esc(w["error"])} / {esc(w["warning"])}</th></tr>')
    per_rule = Counter(f.rule for f in report.active)
    for rid in report.rules_checked:
        info = CATALOGUE.get(rid)
        summary = rule_summary(rid, lang)
        clause = _clause(info.clause, lang) if info else ""
        n = per_rule.get(rid, 0)
        mark = f'<span class="badge">{n}</span>' if n else "—"
        add(f"<tr><td><code>{esc(rid)}</code></td><td>{esc(summary)}</td><td>{esc(clause)}</td><td>{mark}</td></tr>")
    add("</table></section>")

    # 2. inventory
    add(f'<section id="s_inventory"><h2>{esc(w["s_inventory"])}</h2>')
    add(f'<table id="inventory"><tr><th>{esc(w["segment"])}</th><th>{esc(w["zone"])}</th>'
        f'<th>{esc(w["description"])}</th><th>{esc(w["nodes"])}</th><th>{esc(w["kinds"])}</th></tr>')
    members_of: dict[str, set[str]] = {}  # one pass over the devices, not one per zone
    for device, node in topology.nodes.items():
        for i in node.interfaces:
            members_of.setdefault(i.zone, set()).add(device)
    for zone_name in matrix.zones if matrix.zones else sorted(topology.zones):
        zone = topology.zones[zone_name]
        members = sorted(members_of.get(zone_name, ()))
        kinds = Counter(topology.nodes[n].kind for n in members)
        kind_text = ", ".join(f"{text(lang, 'kind.' + k.value)} {kinds[k]}" for k in NodeKind if kinds.get(k))
        add(f"<tr><td>{esc(text(lang, 'segment.' + zone.segment.value))}</td><td><code>{esc(zone_name)}</code></td>"
            f"<td>{esc(zone.description)}</td><td>{esc(', '.join(members))}</td><td>{esc(kind_text)}</td></tr>")
    add("</table></section>")

    # 3. matrix
    add(f'<section id="s_matrix"><h2>{esc(w["s_matrix"])}</h2>')
    add(f'<figure>{_svg_img(heat_svg, w["s_matrix"], "matrix")}<figcaption>{esc(w["matrix_caption"])}'
        "</figcaption></figure>")
    add(f'<h3>{esc(w["crossings"])}</h3>')
    crossing_rows = [c for (a, b), c in sorted(matrix.cells.items()) if a != b and c.crossing is not Crossing.NONE]
    if crossing_rows and large:
        add(_drilldown(topology, crossing_rows, w, lang))
    elif crossing_rows:
        add(f'<table id="crossings"><tr><th>{esc(w["from"])}</th><th>{esc(w["to"])}</th><th>{esc(w["crossing"])}'
            f'</th><th>{esc(w["services"])}</th><th>{esc(w["rules"])}</th></tr>')
        for c in crossing_rows:
            label = template.CROSSING[lang][c.crossing.value]
            add(f"<tr><td><code>{esc(c.source)}</code></td><td><code>{esc(c.destination)}</code></td>"
                f'<td><span class="badge {esc(c.crossing.value)}">{esc(label)}</span></td>'
                f"<td>{'<br>'.join(esc(s) for s in c.services)}</td><td>{esc(' '.join(c.rules))}</td></tr>")
        add("</table>")
    else:
        add(f"<p>{esc(w['no_crossings'])}</p>")
    add("</section>")

    # 4. map
    add(f'<section id="s_map"><h2>{esc(w["s_map"])}</h2>')
    add(interactive.map_fragment(topology, net, report, lang, height="760px"))
    add(f'<figure>{_svg_img(map_svg, w["s_map"], "map")}<figcaption>'
        f'{esc(text(lang, "atlas.legend") if large else w["map_caption"])}</figcaption></figure>')
    if large:
        add(f'<h3>{esc(text(lang, "atlas.pictures"))}</h3>')
        for name, members in groups.items():
            add(f'<details class="town"><summary>{esc(name)} ({esc(text(lang, "map.devices", n=len(members)))})'
                f'</summary><figure>{_svg_img(towns[name], name, "map-" + name)}</figure></details>')
    add("</section>")

    # 5. findings
    add(f'<section id="s_findings"><h2>{esc(w["s_findings"])}</h2>')
    if not report.findings:
        add(f'<p id="no-findings">{esc(w["no_findings"])}</p>')
    if report.active:
        add(f'<h3>{esc(w["active_findings"])} ({len(report.active)})</h3>')
        for f in report.active:
            add(_finding(f, refs[id(f)], w, lang))
    elif report.findings:
        add(f'<p id="no-findings">{esc(w["no_findings"])}</p>')
    if report.suppressed:
        add(f'<h3>{esc(w["suppressed_findings"])} ({len(report.suppressed)})</h3>')
        for f in report.suppressed:
            add(_finding(f, refs[id(f)], w, lang))
    add("</section>")

    # 6. exceptions
    add(f'<section id="s_exceptions"><h2>{esc(w["s_exceptions"])}</h2>')
    if report.exceptions:
        add(f'<table id="exceptions"><tr><th>{esc(w["id"])}</th><th>{esc(w["rule"])}</th><th>{esc(w["status"])}</th>'
            f'<th>{esc(w["owner"])}</th><th>{esc(w["justification"])}</th><th>{esc(w["expires"])}</th>'
            f'<th>{esc(w["ticket"])}</th><th>{esc(w["scope"])}</th></tr>')
        for e in report.exceptions:
            status = template.STATUS[lang].get(e.status, e.status)
            add(f"<tr><td><code>{esc(e.id)}</code><br><span class=\"small\">{esc(e.location)}</span></td>"
                f"<td><code>{esc(e.rule)}</code></td>"
                f'<td><span class="badge {esc(e.status)}">{esc(status)}</span></td><td>{esc(e.owner)}</td>'
                f"<td>{esc(e.justification)}</td><td>{esc(e.expires)}</td><td>{esc(e.ticket)}</td>"
                f"<td><code>{esc(e.scope)}</code></td></tr>")
        add("</table>")
    else:
        add(f"<p>{esc(w['no_exceptions'])}</p>")
    add("</section>")

    # 7. method
    add(f'<section id="s_method"><h2>{esc(w["s_method"])}</h2>{template.METHOD[lang]}')
    if report.import_scope is not None:
        add(_import_scope(report.import_scope, w))
    add("</section>")

    # 8. audit trail
    add(f'<section id="s_trail"><h2>{esc(w["s_trail"])}</h2><dl class="kv">')
    add(f'<dt>{esc(w["version"])}</dt><dd><code id="version">{esc(__version__)}</code></dd>')
    add(f'<dt>{esc(w["profile"])}</dt><dd><code>{esc(report.profile)}</code></dd>')
    add(f'<dt>{esc(w["date"])}</dt><dd>{esc(report.today)}</dd>')
    add(f'<dt>{esc(w["rules_checked"])}</dt><dd><code>{esc(" ".join(report.rules_checked))}</code></dd></dl>')
    add(f'<table id="files"><tr><th>{esc(w["file"])}</th><th>{esc(w["sha256"])}</th></tr>')
    for path, digest in report.files:
        add(f"<tr><td><code>{esc(path)}</code></td><td><code>{esc(digest)}</code></td></tr>")
    add("</table></section>")

    # 9. the self-inspection record
    if record is not None:
        add(trend.record_section(record[1], record[0], lang, w["s_record"]))

    return template.PAGE.substitute(lang=lang, version=esc(__version__), script=interactive.script_hash(),
                                    title=esc(f"{topology.name} — {w['doc_title']}"), css=template.CSS,
                                    body="\n".join(parts))


def _drilldown(topology: Topology, rows: list, w: dict[str, str], lang: str) -> str:
    """The zone pairs that cross, one collapsible table per municipality of the sending zone; the
    municipalities with violations open."""
    from pathlib import Path as FilePath

    by_town: dict[str, list] = {}
    for c in rows:
        by_town.setdefault(FilePath(topology.zones[c.source].span.file).stem, []).append(c)
    out = [f'<p>{esc(text(lang, "atlas.drilldown"))}</p>']
    for town in sorted(by_town, key=atlas.natural_key):
        cells = by_town[town]
        worst = atlas._worst([c.crossing for c in cells])
        label = template.CROSSING[lang][worst.value]
        out.append(f'<details class="town"{" open" if worst is Crossing.VIOLATION else ""}><summary>{esc(town)} '
                   f'<span class="badge {esc(worst.value)}">{esc(label)}</span> ({len(cells)})</summary>')
        out.append(f'<table><tr><th>{esc(w["from"])}</th><th>{esc(w["to"])}</th><th>{esc(w["crossing"])}</th>'
                   f'<th>{esc(w["services"])}</th><th>{esc(w["rules"])}</th></tr>')
        for c in cells:
            badge = template.CROSSING[lang][c.crossing.value]
            out.append(f"<tr><td><code>{esc(c.source)}</code></td><td><code>{esc(c.destination)}</code></td>"
                       f'<td><span class="badge {esc(c.crossing.value)}">{esc(badge)}</span></td>'
                       f"<td>{'<br>'.join(esc(s) for s in c.services)}</td><td>{esc(' '.join(c.rules))}</td></tr>")
        out.append("</table></details>")
    return "\n".join(out)


def _finding(f: Finding, ref: str, w: dict[str, str], lang: str) -> str:
    info = CATALOGUE.get(f.rule)
    if f.suppressed:
        cls, badge = "finding suppressed", f'<span class="badge suppressed">{esc(w["suppressed_by"])}</span>'
    elif f.severity is Severity.WARNING:
        cls, badge = "finding warning", f'<span class="badge warning">{esc(w["warning"])}</span>'
    else:
        cls, badge = "finding", f'<span class="badge">{esc(w["error"])}</span>'
    out = [f'<article class="{cls}" id="finding-{esc(ref)}" data-rule="{esc(f.rule)}">',
           f"<h3>#{esc(ref)} {badge}<code>{esc(f.rule)}</code> {esc(localize(f.title, lang))}</h3>",
           f"<p>{esc(localize(f.message, lang))}</p>", '<dl class="kv">',
           f'<dt>{esc(w["location"])}</dt><dd><code>{esc(f.location)}</code></dd>']
    if info is not None:
        out.append(f'<dt>{esc(w["clause"])}</dt><dd>{esc(_clause(info.clause, lang))} — '
                   f'{esc(rule_summary(f.rule, lang))}</dd>')
    if f.suppressed_by:
        out.append(f'<dt>{esc(w["suppressed_by"])}</dt><dd><code>{esc(", ".join(f.suppressed_by))}</code></dd>')
    if f.relaxed_by:
        out.append(f'<dt>{esc(w["relaxed_by"])}</dt><dd><code>{esc(", ".join(f.relaxed_by))}</code></dd>')
    if f.headers:
        out.append(f'<dt>{esc(w["flows"])}</dt><dd>' + "<br>".join(f"<code>{esc(h)}</code>" for h in f.headers)
                   + "</dd>")
    if f.witness is not None:
        out.append(f'<dt>{esc(w["witness"])}</dt><dd><code class="witness">{esc(f.witness)}</code></dd>')
    if f.path is not None:
        out.append(f'<dt>{esc(w["path"])}</dt><dd>{_path(f.path, w, lang)}</dd>')
        permits = f.path.permits()
        if permits:
            out.append(f'<dt>{esc(w["rule_locations"])}</dt><dd><ul class="tight">' + "".join(
                f"<li><code>{esc(d.span)}</code> {esc(d.acl)} "
                f"{esc(w['line'] + ' ' + str(d.rule_index) if d.rule_index is not None else w['default'])}"
                f": <code>{esc(d.text)}</code></li>" for d in permits) + "</ul></dd>")
    if f.related:
        out.append(f'<dt>{esc(w["related"])}</dt><dd>' + "<br>".join(f"<code>{esc(s)}</code>" for s in f.related)
                   + "</dd>")
    out.append("</dl></article>")
    return "\n".join(out)


def _path(path: Path, w: dict[str, str], lang: str) -> str:
    items = [f"<li>{_hop(h, w)}</li>" for h in path.hops]
    outcome = text(lang, f"outcome.{path.outcome.value}")
    final = f"{esc(w['outcome'])}: <strong>{esc(outcome)}</strong> @ <code>{esc(path.final_node)}</code>"
    return f'<ol class="path">{"".join(items)}</ol><span class="small">{final}</span>'


def _decision(d: AclDecision, w: dict[str, str]) -> str:
    which = f"{w['line']} {d.rule_index}" if d.rule_index is not None else w["default"]
    return f"{esc(d.action.value)} {esc(d.acl)} {esc(which)} (<code>{esc(d.span)}</code>)"


def _hop(h: Hop, w: dict[str, str]) -> str:
    bits: list[str] = [f"<strong>{esc(h.node)}</strong>"]
    bits.append(f"{esc(w['hop_in'])} <code>{esc(h.in_iface)}</code>" if h.in_iface else f"({esc(w['hop_sends'])})")
    if h.acl_in is not None:
        bits.append(f"{esc(w['acl_in'])}: {_decision(h.acl_in, w)}")
    if h.route is not None:
        via = f" via {h.route.next_hop}" if h.route.next_hop else f" {w['connected']}"
        where = f" ({h.route_span})" if h.route_span else ""
        bits.append(f"{esc(w['route'])} <code>{esc(str(h.route.prefix) + via)}</code>{esc(where)}")
    if h.policy is not None:
        bits.append(esc(h.policy))
    if h.acl_out is not None:
        bits.append(f"{esc(w['acl_out'])}: {_decision(h.acl_out, w)}")
    if h.nat:
        bits.append(f"{esc(w['nat'])}: {esc('; '.join(h.nat))}")
    if h.out_iface:
        bits.append(f"{esc(w['hop_out'])} <code>{esc(h.out_iface)}</code>")
    return ", ".join(bits)


def segment_inventory(topology: Topology) -> dict[Segment, list[str]]:
    """Zones per segment, in segment order (for callers that want the inventory as data)."""
    result: dict[Segment, list[str]] = {s: [] for s in Segment}
    for name, zone in sorted(topology.zones.items()):
        result[zone.segment].append(name)
    return {s: z for s, z in result.items() if z}
