"""verify(): a topology and a profile in, a Report out."""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

from ..cycles import pausing
from ..findings import ExceptionStatus, Report, Severity
from ..model import Profile, Topology
from ..network import Network
from ..progress import current
from .catalogue import COMPLETENESS, rules_for
from .completeness import COMPLETENESS_CHECKS
from .context import Context
from .exceptions import Register
from .rules import CHECKS, exceptions_used, seg008


def verify(topology: Topology, profile: str | Profile | None = None, today: _dt.date | None = None,
           network: Network | None = None, strict: bool = False) -> Report:
    """Run every rule of the profile (the topology's own unless given) and collect the findings.

    ``strict``: model-completeness warnings (HYG002-HYG008) are errors, so a gap fails the check."""
    from ..analysis import analyse

    return analyse(topology, profile, today, network, strict=strict).report


@pausing
def run_rules(topology: Topology, network: Network, profile: str | Profile | None,
              today: _dt.date | None, strict: bool = False) -> tuple[Context, Report]:
    """The rules over a compiled network: the context they filled (propagations, register) and the report."""
    chosen = Profile(profile) if profile is not None else topology.profile
    day = today or _dt.date.today()
    progress = current()
    net = network
    ctx = Context(topology, net, Register(net.space, topology.exceptions, day), day)
    selected = rules_for(chosen)
    findings = []
    checks = {**COMPLETENESS_CHECKS, **CHECKS}
    with progress.stage("checking rules"):
        for done, (rule_id, check) in enumerate(checks.items(), 1):
            progress.tick(f"checking {rule_id}", done, len(checks) + 1)
            if rule_id in selected:
                findings.extend(check(ctx))
        used = exceptions_used(findings)  # the register rule reads the other rules' findings
        progress.tick("checking SEG008", len(checks) + 1, len(checks) + 1)
        if "SEG008" in selected:
            findings.extend(seg008(ctx, used))
    if strict:
        findings = [replace(f, severity=Severity.ERROR) if f.rule in COMPLETENESS else f for f in findings]
    exceptions = [
        ExceptionStatus(e.id, e.rule, ctx.register.status(e, used), e.owner, e.justification,
                        e.expires.isoformat() if e.expires else "", e.ticket, e.scope_text, e.span)
        for e in topology.exceptions
    ]
    zones = tuple(sorted((z.name, z.segment.value) for z in topology.zones.values()))
    return ctx, Report(topology.name, chosen.value, tuple((f.path, f.sha256) for f in topology.files), selected,
                       findings, exceptions, day.isoformat(), zones, import_scope=topology.import_scope)
