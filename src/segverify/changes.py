"""What a change does: flows newly allowed and newly blocked per zone pair, findings introduced and resolved.

Both versions are compiled into one header space, so the difference is computed symbolically —
``NEW ∧ ¬OLD`` over every header — not by sampling packets.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path as FsPath

from .analysis import analyse
from .errors import QueryError
from .findings import Finding, Report
from .forked import chosen_jobs, jobs_from_environment
from .headers import Bdd, HeaderSet, Packet
from .model import Topology
from .network import Network, space_for
from .query import find_witness
from .reach import Reachability
from .trace import Path


@dataclass(frozen=True)
class FlowChange:
    change: str  # "allowed" (new lets through what old did not) or "blocked"
    source_zone: str
    destination_zone: str
    source_segment: str
    destination_segment: str
    headers: tuple[str, ...]
    witness: Packet | None
    path: Path | None

    @property
    def cross_segment(self) -> bool:
        return self.source_segment != self.destination_segment

    def to_dict(self) -> dict[str, object]:
        return {"change": self.change, "from_zone": self.source_zone, "to_zone": self.destination_zone,
                "from_segment": self.source_segment, "to_segment": self.destination_segment,
                "headers": list(self.headers), "witness": self.witness.to_dict() if self.witness else None,
                "path": [h.to_dict() for h in self.path.hops] if self.path else None}


@dataclass
class DiffReport:
    old: Report
    new: Report
    allowed: list[FlowChange]
    blocked: list[FlowChange]
    introduced: list[Finding]
    resolved: list[Finding]

    def exit_code(self, fail_on_new_reachability: bool = False) -> int:
        if self.introduced:
            return 1
        if fail_on_new_reachability and any(c.cross_segment for c in self.allowed):
            return 1
        return 0

    def to_dict(self) -> dict[str, object]:
        return {
            "old": {"topology": self.old.topology, "files": [{"path": p, "sha256": h} for p, h in self.old.files]},
            "new": {"topology": self.new.topology, "files": [{"path": p, "sha256": h} for p, h in self.new.files]},
            "newly_allowed": [c.to_dict() for c in self.allowed],
            "newly_blocked": [c.to_dict() for c in self.blocked],
            "findings_introduced": [f.to_dict() for f in self.introduced],
            "findings_resolved": [f.to_dict() for f in self.resolved],
        }


def _zone_members(topology: Topology, reach: Reachability) -> dict[str, list[str]]:
    return {z: [n for n in reach.endpoints if any(i.zone == z for i in topology.nodes[n].interfaces)]
            for z in topology.zones}


def _zone_flows(net: Network, reach: Reachability, members: dict[str, list[str]],
                skip: frozenset[str] = frozenset()) -> dict[tuple[str, str], Bdd]:
    """Headers, as sent, from each zone's endpoints to each other zone's (one union per zone), but
    not to the zones in ``skip``."""
    s = net.space
    origins = {a: net.sources_in(sources) for a, sources in members.items()}
    flows = {}
    for b, destinations in members.items():
        if b in skip:
            continue
        got = s.false
        for d in destinations:
            got |= reach.delivered.get(d, s.false)
        if got == s.false:
            continue
        # Which zones sent anything here is read off the origin ids alone, a small set: the
        # whole conjunction is taken only for those (most zone pairs carry nothing).
        senders = s.origins_of(got)
        for a, from_a in origins.items():
            if a == b or senders & from_a == s.false:
                continue
            part = got & from_a
            if part != s.false:
                flows[(a, b)] = s.flows_as_sent(part)
    return flows


def _unchanged_zones(old_net: Network, new_net: Network, old_reach: Reachability, new_reach: Reachability,
                     old_members: dict[str, list[str]], new_members: dict[str, list[str]]) -> frozenset[str]:
    """The zones every zone's flows to which are the same in both versions: the same endpoints with
    the same origin ids in every zone, and each endpoint of the zone receiving the same headers
    (one header space: the same BDD). Their flows need not be computed to be compared."""
    if old_members != new_members or old_net.origin_ids != new_net.origin_ids:
        return frozenset()
    false = new_net.space.false
    return frozenset(b for b, destinations in new_members.items()
                     if all(old_reach.delivered.get(d, false) == new_reach.delivered.get(d, false)
                            for d in destinations))


def diff(old: Topology, new: Topology, profile: str | None = None, today: _dt.date | None = None,
         incremental: bool = True) -> DiffReport:
    """Both versions compiled into one header space and checked; the new one's propagations are
    updated from the old one's (only packets whose old trajectory met a state the change touched
    are propagated again). ``incremental=False`` propagates the new version from nothing: the same
    answers, the reference the tests compare with."""
    space = space_for(old, new)
    old_net, new_net = Network(old, shared_space=space), Network(new, shared_space=space)
    # The rules of both versions run here, not in a forked worker (unless the user asks for one):
    # the new version's propagations and answers are taken from the old one's, which a worker's
    # would not be, and a worker recomputing them cost more CPU and wall time than it saved
    # (bench/results.md, "diff, incremental").
    jobs = 1 if chosen_jobs() is None and jobs_from_environment() is None else None
    before_run = analyse(old, profile=profile, today=today, network=old_net, jobs=jobs)
    after_run = analyse(new, profile=profile, today=today, network=new_net, jobs=jobs,
                        previous=before_run if incremental else None)
    old_reach, new_reach = before_run.reach, after_run.reach
    old_members, new_members = _zone_members(old, old_reach), _zone_members(new, new_reach)
    same = _unchanged_zones(old_net, new_net, old_reach, new_reach, old_members, new_members) \
        if incremental else frozenset()
    old_flows = _zone_flows(old_net, old_reach, old_members, same)
    new_flows = _zone_flows(new_net, new_reach, new_members, same)
    segment = {z.name: z.segment.value for t in (old, new) for z in t.zones.values()}
    changes: dict[str, list[FlowChange]] = {"allowed": [], "blocked": []}
    for pair in sorted(set(old_flows) | set(new_flows)):
        before, after = old_flows.get(pair, space.false), new_flows.get(pair, space.false)
        for change, gained, net, reach, members in (
                ("allowed", after & ~before, new_net, new_reach, new_members),
                ("blocked", before & ~after, old_net, old_reach, old_members)):
            if gained == space.false:
                continue
            packet, path = find_witness(net, reach, members.get(pair[0], []), members.get(pair[1], []), gained)
            changes[change].append(FlowChange(change, pair[0], pair[1], segment[pair[0]], segment[pair[1]],
                                              tuple(HeaderSet(space, gained).describe()), packet, path))
    old_report, new_report = before_run.report, after_run.report
    before_fp = {f.fingerprint for f in old_report.active}
    after_fp = {f.fingerprint for f in new_report.active}
    return DiffReport(old_report, new_report, changes["allowed"], changes["blocked"],
                      [f for f in new_report.active if f.fingerprint not in before_fp],
                      [f for f in old_report.active if f.fingerprint not in after_fp])


def resolve_revision(top: str, revision: str) -> str:
    """The commit id ``revision`` names, asked of git in a way it cannot read as an option.

    A revision may come from a branch name someone else chose (``--output=FILE`` would make
    ``git archive`` truncate a file); only the object id git prints is passed on."""
    if not revision or "\0" in revision:
        raise QueryError(f"{revision!r} is not a git revision")
    try:
        done = subprocess.run(["git", "-C", top, "rev-parse", "--verify", "--quiet", "--end-of-options",
                               f"{revision}^{{commit}}"], capture_output=True, text=True)
    except OSError as exc:
        raise QueryError(f"cannot run git: {exc.strerror or exc}") from None
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit or not all(c in "0123456789abcdef" for c in commit):
        raise QueryError(f"{revision!r} does not name a commit in {top}")
    return commit


def checkout(revision: str, path: str, into: str) -> str:
    """Write ``path`` (and the directory around it, for includes) as of git ``revision`` below ``into``.

    Returns the path of the old version to load. Only git's own archive is read; the work tree is untouched."""
    target = FsPath(path).resolve()
    where = target if target.is_dir() else target.parent
    try:
        top = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], check=True,
                             capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise QueryError(f"{path} is not inside a git work tree") from None
    rel_dir = os.path.relpath(where, top)
    commit = resolve_revision(top, revision)
    archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", commit, "--", rel_dir],
                             capture_output=True)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise QueryError(f"cannot read {rel_dir} at {revision}: {message[-1] if message else 'git archive failed'}")
    with tempfile.TemporaryFile() as buffer:
        buffer.write(archive.stdout)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            tar.extractall(into, filter="data")  # refuses absolute paths, links out and device files
    old = FsPath(into) / os.path.relpath(target, top)
    if not old.exists():
        raise QueryError(f"{os.path.relpath(target, top)} does not exist at {revision}")
    return str(old)
