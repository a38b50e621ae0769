"""verify(): a topology and a profile in, a Report out."""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

from ..cycles import pausing
from ..findings import ExceptionStatus, Finding, Report, Severity
from ..forked import Forked, resident_bytes, wanted
from ..model import Profile, Topology
from ..network import Network
from ..progress import current
from .catalogue import COMPLETENESS, rules_for
from .completeness import COMPLETENESS_CHECKS
from .context import Context
from .exceptions import Register
from .rules import CHECKS, exceptions_used, seg008


# The rules that never read the all-sources propagation: the waypoint rules propagate on their own
# (from the sources they ask about), HYG001 reads only the compiled ACLs. With two cores a forked
# worker runs them while this process propagates and runs the others (see run_rules).
IN_WORKER = ("SEG005", "SEG011", "HYG001")
# From this many compiled devices on, the worker saves more than it costs: its fork, the pages
# both processes then copy as they write (copy-on-write: about 60% of what they share), and its
# findings pickled back. Up to this much memory here: beyond it the copies would take the pair past
# the memory a check of that size is allowed (measured: bench/results.md, "Check on two cores").
WORKER_FROM_DEVICES = 500
WORKER_UP_TO_BYTES = 1 << 30


def verify(topology: Topology, profile: str | Profile | None = None, today: _dt.date | None = None,
           network: Network | None = None, strict: bool = False, jobs: int | None = None) -> Report:
    """Run every rule of the profile (the topology's own unless given) and collect the findings.

    ``strict``: model-completeness warnings (HYG002-HYG008) are errors, so a gap fails the check.
    ``jobs``: see :func:`run_rules`."""
    from ..analysis import analyse

    return analyse(topology, profile, today, network, strict=strict, jobs=jobs).report


@pausing
def run_rules(topology: Topology, network: Network, profile: str | Profile | None,
              today: _dt.date | None, strict: bool = False, jobs: int | None = None,
              previous: Context | None = None) -> tuple[Context, Report]:
    """The rules over a compiled network: the context they filled (propagations, register) and the report.

    ``jobs`` 1: everything here; 2 or more: a forked worker where the platform can fork; None: the
    command line's or ``SEGVERIFY_JOBS``'s choice, else a worker from :data:`WORKER_FROM_DEVICES`
    devices on and up to :data:`WORKER_UP_TO_BYTES` of memory, with a second core
    (:func:`segverify.forked.wanted`). The worker, a forked copy of
    this process, runs the rules of :data:`IN_WORKER` while this one runs the rest; the findings are
    merged in the catalogue's order, so the report is the same byte for byte. The context then holds
    only this process's propagations (the all-sources one, which matrix, report and diff reuse, is
    always computed here).

    ``previous``: the context of another version checked in the same header space; propagations
    are updated from its answers instead of computed from nothing (the same answers)."""
    chosen = Profile(profile) if profile is not None else topology.profile
    day = today or _dt.date.today()
    progress = current()
    net = network
    ctx = Context(topology, net, Register(net.space, topology.exceptions, day), day, previous=previous)
    selected = rules_for(chosen)
    checks = {**COMPLETENESS_CHECKS, **CHECKS}
    worth_it = len(net.nodes) >= WORKER_FROM_DEVICES and resident_bytes() <= WORKER_UP_TO_BYTES
    aside = [r for r in IN_WORKER if r in selected] if wanted(worth_it, jobs) else []

    def in_worker() -> dict[str, list[Finding]]:
        return {rule_id: checks[rule_id](ctx) for rule_id in aside}

    found: dict[str, list[Finding]] = {}
    with progress.stage("checking rules"), Forked(in_worker, fork=bool(aside)) as worker:
        for done, (rule_id, check) in enumerate(checks.items(), 1):
            progress.tick(f"checking {rule_id}", done, len(checks) + 1)
            if rule_id in selected and rule_id not in aside:
                found[rule_id] = check(ctx)
        found.update(worker.result())
        findings = [f for rule_id in checks for f in found.get(rule_id, ())]
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
