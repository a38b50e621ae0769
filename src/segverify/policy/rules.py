"""The rules SEG001–SEG011 and HYG001, one function each: Context in, findings out."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ..findings import Finding, Severity
from ..headers import TCP, UDP, Bdd
from ..model import (DeclaredFlow, Node, NodeKind, PortRange, Profile, Role, SanitizerType, Segment,
                     ServiceTerm)
from ..network import security_cloud_nodes
from ..shadowing import Shadowed, shadowed_lines
from .context import INTERNET_SIDE, LGWAN_SIDE, MYNUMBER, Context
from .flows import FlowCheck
from ..i18n import joined, m

SMTP = (ServiceTerm(TCP, dports=(PortRange(25, 25), PortRange(587, 587))),)
DISPLAY = (
    ServiceTerm(TCP, dports=tuple(PortRange(p, p) for p in (443, 1494, 2598, 3389, 4172, 5900, 8443))),
    ServiceTerm(UDP, dports=(PortRange(4172, 4172),)),
)


def _both_ways(ctx: Context, rule: str, side_a: frozenset[Segment], side_b: frozenset[Segment], title: str,
               message: str, exclude_nodes: frozenset[str] = frozenset(), blocked: frozenset[str] = frozenset(),
               exclude: Callable[[str, str], bool] | None = None) -> list[FlowCheck]:
    """Flows from side A to side B and back; ``exclude`` drops A→B pairs that another rule owns."""
    a = tuple(ctx.endpoints_in(side_a, exclude_nodes | blocked))
    b = tuple(ctx.endpoints_in(side_b, exclude_nodes | blocked))
    both = tuple(sorted(set(a) | set(b)))  # a waypoint question propagates once, from both sides
    return [FlowCheck(rule, a, b, side_a, side_b, title, message, blocked=blocked, exclude=exclude,
                      propagate_from=both),
            FlowCheck(rule, b, a, side_b, side_a, title, message, blocked=blocked, propagate_from=both)]


def seg001_flows(ctx: Context) -> list[FlowCheck]:
    return _both_ways(ctx, "SEG001", MYNUMBER, INTERNET_SIDE, m("SEG001.title"), m("SEG001.message"))


def seg001(ctx: Context) -> list[Finding]:
    return ctx.all_flow_findings(seg001_flows(ctx))


def seg002_flows(ctx: Context) -> list[FlowCheck]:
    checks = _both_ways(ctx, "SEG002", MYNUMBER, LGWAN_SIDE, m("SEG002.title"), m("SEG002.message"))
    return [replace(c, uncovered=m("SEG002.uncovered")) for c in checks]


def seg002(ctx: Context) -> list[Finding]:
    findings = ctx.all_flow_findings(seg002_flows(ctx))
    for exc in ctx.topology.exceptions:
        if exc.rule != "SEG002":
            continue
        problems = []
        for side, nets in (("src", exc.scope.src), ("dst", exc.scope.dst)):
            if nets is None:
                problems.append(m("SEG002.any", side=m(f"side.{side}")))
            elif len(nets) != 1 or nets[0].prefixlen != 32:
                problems.append(m("SEG002.not_host", side=m(f"side.{side}"), nets=", ".join(map(str, nets))))
        terms = exc.scope.services
        if terms is None or any(t.protocol is None or t.dports is None or any(r.low != r.high for r in t.dports)
                                for t in terms):
            problems.append(m("SEG002.not_ports"))
        if problems:
            findings.append(Finding(
                "SEG002", Severity.ERROR, m("SEG002.broad.title", id=exc.id),
                m("SEG002.broad.message", problems=joined(problems, "list.semi")),
                exc.span, subject=(("exception", exc.id),),
            ))
    return findings


def seg003_flows(ctx: Context) -> list[FlowCheck]:
    sanitizers = frozenset(n.name for n in ctx.topology.nodes.values() if n.kind is NodeKind.SANITIZER)
    exclude = None
    if ctx.topology.profile is Profile.ALPHA_PRIME:
        proxies = _proxies(ctx)
        outside = set(ctx.endpoints_in({Segment.EXTERNAL_INTERNET}))
        exclude = lambda src, dst: src in proxies and dst in outside  # noqa: E731 - SEG010 owns these
    return _both_ways(ctx, "SEG003", LGWAN_SIDE, INTERNET_SIDE, m("SEG003.title"), m("SEG003.message"),
                      exclude_nodes=sanitizers,
                      exclude=exclude)


def seg003(ctx: Context) -> list[Finding]:
    return ctx.all_flow_findings(seg003_flows(ctx))


def declared_flows(ctx: Context, flows: tuple[DeclaredFlow, ...], peer_field: str, node: Node) -> Bdd:
    """Headers a sanitizer's or proxy's declaration allows between ``node`` and its peers."""
    s = ctx.network.space
    if peer_field == "dst" and node.name in ctx.network.nodes:
        own = ctx.network.sendable(node.name)  # whatever source it may use (its subnet's too)
    else:
        own = s.false
        for addr in node.addresses:
            own |= s.address("dst" if peer_field == "src" else "src", addr)
    result = s.false
    for flow in flows:
        result |= s.networks(peer_field, flow.peer) & s.services(flow.services) & own
    return result


def _nodes_in(ctx: Context, flow: DeclaredFlow) -> list[str]:
    """The nodes with an address in the flow's peer networks."""
    return sorted({name for net in flow.peer for name in ctx.owners_within(net)})


def _misfits(ctx: Context, node: Node, flows: tuple[DeclaredFlow, ...], direction: str,
             allowed_side: frozenset[Segment], services: tuple[ServiceTerm, ...] | None, why: str) -> list[Finding]:
    s = ctx.network.space
    findings = []
    for flow in flows:
        wrong = [n for n in _nodes_in(ctx, flow) if n != node.name
                 and not (ctx.topology.segments_of(n) & allowed_side)]
        bad_service = services is not None and (s.services(flow.services) & ~s.services(services)) != s.false
        if wrong or bad_service:
            what = []
            if wrong:
                what.append(m("SEG004.misfit.names", nodes=", ".join(wrong[:5]), more=" …" if len(wrong) > 5 else ""))
            if bad_service:
                what.append(m("SEG004.misfit.service", service=flow.services_text,
                              type=m(f"sanitizer.{node.sanitizer.type.value}") if node.sanitizer is not None
                              else node.kind.value))
            findings.append(Finding(
                "SEG004", Severity.ERROR, m("SEG004.misfit.title", node=node.name, direction=m(f"direction.{direction}")),
                m("SEG004.misfit.message", why=why, what=joined(what, "list.semi")), flow.span,
                subject=(("sanitizer", node.name), ("declaration", f"{direction}:{flow.peer_text}:{flow.services_text}")),
            ))
    return findings


SCREEN_WHY = m("SEG004.why.screen")


def _relay_why(node: Node) -> str:
    assert node.sanitizer is not None
    return m(f"SEG004.why.{node.sanitizer.type.value}")


def seg004_flows(ctx: Context) -> list[FlowCheck]:
    """Flows into and out of each sanitizer beyond its declaration.

    Errors are what lets traffic cross between LGWAN and the Internet side outside the declared
    relay: input from the wrong side, output beyond the declared outbound, a screen-transfer server
    opening sessions. An undeclared service reaching a mail or file sanitizer from its own (input)
    side crosses nothing — the relay still delivers only what it declares — so it is a warning: the
    relay's attack surface."""
    checks: list[FlowCheck] = []
    topo = ctx.topology
    for node in sorted(topo.nodes.values(), key=lambda n: n.name):
        san = node.sanitizer
        if san is None:
            continue
        subject = (("sanitizer", node.name),)
        own = frozenset(topo.segments_of(node.name))
        inbound = declared_flows(ctx, san.inbound, "src", node)
        if san.type in (SanitizerType.MAIL, SanitizerType.FILE):
            why = _relay_why(node)
            lgwan = ctx.endpoints_in(LGWAN_SIDE, {node.name})
            on_lgwan = set(lgwan)
            internet = [n for n in ctx.endpoints_in(INTERNET_SIDE, {node.name}) if n not in on_lgwan]
            checks.append(FlowCheck(
                "SEG004", tuple(internet), (node.name,), INTERNET_SIDE, own,
                m("SEG004.own_side.title", node=node.name), m("SEG004.own_side.message", why=why),
                severity=Severity.WARNING, allowed=inbound, subject=subject + (("direction", "inbound"),)))
            checks.append(FlowCheck(
                "SEG004", tuple(lgwan), (node.name,), LGWAN_SIDE, own,
                m("SEG004.from_lgwan.title", node=node.name), m("SEG004.from_lgwan.message", why=why),
                allowed=inbound, subject=subject + (("direction", "inbound"),)))
            checks.append(FlowCheck(
                "SEG004", (node.name,), tuple(lgwan), own, LGWAN_SIDE,
                m("SEG004.out.title", node=node.name), m("SEG004.out.message", why=why),
                allowed=declared_flows(ctx, san.outbound, "dst", node), subject=subject + (("direction", "outbound"),)))
        else:
            terminals_side = INTERNET_SIDE if own & LGWAN_SIDE else LGWAN_SIDE
            terminals = tuple(ctx.endpoints_in(terminals_side, {node.name}))
            checks.append(FlowCheck(
                "SEG004", terminals, (node.name,), terminals_side, own,
                m("SEG004.screen_in.title", node=node.name), m("SEG004.screen_in.message", why=SCREEN_WHY),
                allowed=inbound, subject=subject + (("direction", "inbound"),)))
            # Sanitizers are left out of the server's destinations: what reaches a sanitizer is
            # judged by that sanitizer's own inbound declaration (a host of the server's subnet can
            # send with another host's address, so header sets, not senders, decide there).
            relays = {n.name for n in topo.nodes.values() if n.kind is NodeKind.SANITIZER}
            checks.append(FlowCheck(
                "SEG004", (node.name,), tuple(t for t in terminals if t not in relays), own, terminals_side,
                m("SEG004.screen_out.title", node=node.name), m("SEG004.screen_out.message", why=SCREEN_WHY),
                subject=subject + (("direction", "outbound"),)))
    return checks


def seg004(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    topo = ctx.topology
    for node in sorted(topo.nodes.values(), key=lambda n: n.name):
        san = node.sanitizer
        if san is None:
            continue
        if san.type in (SanitizerType.MAIL, SanitizerType.FILE):
            services = SMTP if san.type is SanitizerType.MAIL else None
            why = _relay_why(node)
            findings += _misfits(ctx, node, san.inbound, "inbound", INTERNET_SIDE, services, why)
            findings += _misfits(ctx, node, san.outbound, "outbound", LGWAN_SIDE, services, why)
        else:
            own = topo.segments_of(node.name)
            terminals_side = INTERNET_SIDE if own & LGWAN_SIDE else LGWAN_SIDE
            findings += _misfits(ctx, node, san.inbound, "inbound", terminals_side, DISPLAY, SCREEN_WHY)
            for flow in san.outbound:
                if any(topo.segments_of(n) & terminals_side for n in _nodes_in(ctx, flow)):
                    findings.append(Finding(
                        "SEG004", Severity.ERROR, m("SEG004.screen_decl.title", node=node.name),
                        SCREEN_WHY, flow.span,
                        subject=(("sanitizer", node.name), ("declaration", f"outbound:{flow.peer_text}"))))
    return findings + ctx.all_flow_findings(seg004_flows(ctx))


def seg005_flows(ctx: Context) -> list[FlowCheck]:
    cloud = frozenset(security_cloud_nodes(ctx.topology))
    sources = tuple(ctx.endpoints_in({Segment.INTERNET}, cloud))
    outside = tuple(ctx.endpoints_in({Segment.EXTERNAL_INTERNET}, cloud))
    return [FlowCheck(
        "SEG005", sources, outside, frozenset({Segment.INTERNET}), frozenset({Segment.EXTERNAL_INTERNET}),
        blocked=cloud,
        title=m("SEG005.title"), message=m("SEG005.message"))]


def seg005(ctx: Context) -> list[Finding]:
    return ctx.all_flow_findings(seg005_flows(ctx))


def _proxies(ctx: Context) -> set[str]:
    return {n.name for n in ctx.topology.nodes.values() if Role.BREAKOUT_PROXY in n.roles}


def seg010_flows(ctx: Context) -> list[FlowCheck]:
    topo = ctx.topology
    checks = []
    outside = tuple(ctx.endpoints_in({Segment.EXTERNAL_INTERNET}))
    for name in sorted(_proxies(ctx)):
        node = topo.nodes[name]
        checks.append(FlowCheck(
            "SEG010", (name,), outside, frozenset(topo.segments_of(name)), frozenset({Segment.EXTERNAL_INTERNET}),
            title=m("SEG010.title", node=name), message=m("SEG010.message"),
            allowed=declared_flows(ctx, node.allow, "dst", node), subject=(("proxy", name),),
            boundary=INTERNET_SIDE))  # the line to change lets the proxy out of LGWAN, not the cloud's
    return checks


def seg010(ctx: Context) -> list[Finding]:
    if not _proxies(ctx):
        return [Finding("SEG010", Severity.ERROR, m("SEG010.no_proxy.title"), m("SEG010.no_proxy.message"),
                        ctx.topology.span, subject=(("proxy", "none"),))]
    return ctx.all_flow_findings(seg010_flows(ctx))


def seg011_flows(ctx: Context) -> list[FlowCheck]:
    aps = frozenset(n.name for n in ctx.topology.nodes.values() if Role.LGWAN_ACCESS_POINT in n.roles)
    inside = frozenset({Segment.LGWAN, Segment.MYNUMBER})
    return _both_ways(ctx, "SEG011", inside, frozenset({Segment.LGWAN_BACKBONE}),
                      m("SEG011.title"), m("SEG011.message"), blocked=aps)


def seg011(ctx: Context) -> list[Finding]:
    return ctx.all_flow_findings(seg011_flows(ctx))


APPROVED_ROLES = frozenset({Role.BOUNDARY, Role.LGWAN_ACCESS_POINT, Role.SECURITY_CLOUD})


def seg006(ctx: Context) -> list[Finding]:
    findings = []
    for node in sorted(ctx.topology.nodes.values(), key=lambda n: n.name):
        segments = ctx.topology.segments_of(node.name)
        if node.kind is NodeKind.SANITIZER and node.forwarding:
            findings.append(Finding(
                "SEG006", Severity.ERROR, m("SEG006.forwarding.title", node=node.name), m("SEG006.forwarding.message"),
                node.span, subject=(("node", node.name), ("problem", "forwarding")), cause=m("cause.node", node=node.name)))
            continue
        if len(segments) < 2:
            continue
        approved = (node.kind in (NodeKind.FIREWALL, NodeKind.GATEWAY) or bool(node.roles & APPROVED_ROLES)
                    or (node.kind is NodeKind.SANITIZER and not node.forwarding))
        if not approved:
            findings.append(Finding(
                "SEG006", Severity.ERROR,
                m("SEG006.dual.title", kind=m(f"kind.{node.kind.value}"), node=node.name,
                  segments=joined(m(f"segment.name.{s.value}") for s in sorted(segments, key=lambda s: s.value))),
                m("SEG006.dual.message"), node.span,
                subject=(("node", node.name), ("problem", "dual-homed")), cause=m("cause.node", node=node.name)))
    return findings


def _terminal_controls(ctx: Context, rule: str, segment: Segment, checks: tuple[tuple[str, str], ...],
                       why: str) -> list[Finding]:
    findings = []
    for node in sorted(ctx.topology.nodes.values(), key=lambda n: n.name):
        if node.kind is not NodeKind.TERMINAL or segment not in ctx.topology.segments_of(node.name):
            continue
        missing = [label for attr, label in checks if getattr(node, attr) is not True]
        if missing:
            findings.append(Finding(rule, Severity.ERROR, m("terminal.title", node=node.name, missing=joined(missing)),
                                    why, node.span, subject=(("node", node.name),),
                                    suppressed_by=_node_exceptions(ctx, rule, node), cause=m("cause.node", node=node.name)))
    return findings


def _node_exceptions(ctx: Context, rule: str, node: Node) -> tuple[str, ...]:
    """A node rule is relaxed by an exception whose source covers all of the node's addresses."""
    for exc in ctx.register.for_rule(rule):
        nets = exc.scope.src
        if node.addresses and (nets is None or all(any(a in n for n in nets) for a in node.addresses)):
            return (exc.id,)
    return ()


def seg007(ctx: Context) -> list[Finding]:
    return _terminal_controls(ctx, "SEG007", Segment.MYNUMBER,
                              (("mfa", m("SEG007.mfa")), ("removable_media_blocked", m("SEG007.media"))),
                              m("SEG007.message"))


def seg009(ctx: Context) -> list[Finding]:
    return _terminal_controls(ctx, "SEG009", Segment.INTERNET,
                              (("epp", m("SEG009.epp")), ("edr", m("SEG009.edr"))), m("SEG009.message"))


def hyg001(ctx: Context) -> list[Finding]:
    s = ctx.network.space
    findings = []
    # ACLs compiled to the same lines (one template on many devices, or the same ACL in both
    # versions of a diff) share their answer: it depends on the lines' matches alone.
    answers = s.shadowed_cache
    for name in sorted(ctx.network.nodes):
        compiled = ctx.network.nodes[name]
        for acl_name in sorted(compiled.acls):
            acl = compiled.acls[acl_name]
            known = answers.get(id(acl.line_matches))
            if known is None:
                known = answers[id(acl.line_matches)] = (
                    acl.line_matches, tuple(shadowed_lines(s, acl.acl.rules, acl.line_matches)))
            lines = known[1]
            for line in lines:
                rule = acl.acl.rules[line.position]
                above = [acl.acl.rules[j].index for j in line.overlapping]
                why = (m("HYG001.above", lines=", ".join(map(str, above))) if above
                       else "it matches no packet a source sends")
                findings.append(Finding(
                    "HYG001", Severity.WARNING, m("HYG001.title", node=name, acl=acl_name, line=rule.index),
                    m("HYG001.message", why=why), rule.span,
                    subject=(("node", name), ("acl", acl_name), ("line", str(rule.index)))))
    return findings


def exceptions_used(findings: list[Finding]) -> frozenset[str]:
    """The exceptions that suppress or relax some finding: what SEG008 calls used."""
    return frozenset(e for f in findings for e in f.suppressed_by + f.relaxed_by)


def seg008(ctx: Context, used: frozenset[str]) -> list[Finding]:
    """The register itself; ``used`` comes from the other rules' findings (:func:`exceptions_used`)."""
    findings = []
    reg = ctx.register
    for exc in ctx.topology.exceptions:
        subject = (("exception", exc.id),)
        missing = reg.missing_fields(exc)
        if missing:
            findings.append(Finding("SEG008", Severity.ERROR, m("SEG008.incomplete.title", id=exc.id,
                                                                 fields=joined(m(f"field.{f}") for f in missing)),
                                    m("SEG008.incomplete.message"), exc.span, subject=subject + (("problem", "incomplete"),)))
        elif reg.expired(exc):
            findings.append(Finding("SEG008", Severity.ERROR, m("SEG008.expired.title", id=exc.id, date=str(exc.expires)),
                                    m("SEG008.expired.message"), exc.span, subject=subject + (("problem", "expired"),)))
        elif exc.id not in used:
            findings.append(Finding("SEG008", Severity.WARNING, m("SEG008.unused.title", id=exc.id),
                                    m("SEG008.unused.message"), exc.span, subject=subject + (("problem", "unused"),)))
    return findings


# The rules that judge the network. SEG008 judges the exception register and needs their findings:
# check.verify passes it exceptions_used(findings) explicitly.
CHECKS: dict[str, Callable[[Context], list[Finding]]] = {
    "SEG001": seg001, "SEG002": seg002, "SEG003": seg003, "SEG004": seg004, "SEG005": seg005,
    "SEG006": seg006, "SEG007": seg007, "SEG009": seg009, "SEG010": seg010, "SEG011": seg011,
    "HYG001": hyg001,
}

# The flow rules' questions (policy.flows.FlowCheck): the symbolic rules above report them for every
# header, pcap-audit asks them of each captured packet.
FLOW_CHECKS: dict[str, Callable[[Context], list[FlowCheck]]] = {
    "SEG001": seg001_flows, "SEG002": seg002_flows, "SEG003": seg003_flows, "SEG004": seg004_flows,
    "SEG005": seg005_flows, "SEG010": seg010_flows, "SEG011": seg011_flows,
}
