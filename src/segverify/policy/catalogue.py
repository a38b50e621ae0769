"""The rule catalogue: stable ids, what each rule says, the policy clause it rests on, the profiles."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Profile, Segment


@dataclass(frozen=True)
class RuleInfo:
    id: str
    name: str  # short kebab-case name (SARIF rule name)
    summary: str
    clause: str  # where in the basic policy (基本方針) the rule comes from
    profiles: frozenset[Profile]
    # Flow rules: the two sides whose zone pairs the rule checks (both directions).
    sides: tuple[frozenset[Segment], frozenset[Segment]] | None = None


ALL = frozenset(Profile)
_MN = frozenset({Segment.MYNUMBER})
_LG = frozenset({Segment.LGWAN, Segment.LGWAN_BACKBONE})
_INET = frozenset({Segment.INTERNET, Segment.SECURITY_CLOUD, Segment.EXTERNAL_INTERNET})
BETAS = frozenset({Profile.BETA, Profile.BETA_PRIME})

CATALOGUE: dict[str, RuleInfo] = {r.id: r for r in (
    RuleInfo("SEG001", "mynumber-internet-isolation",
             "No flow of any header between My Number and Internet, either direction.",
             "基本方針 6(3)①, 定義 2(8)(10)", ALL, (_MN, _INET)),
    RuleInfo("SEG002", "mynumber-lgwan-exceptions-only",
             "My Number ↔ LGWAN only through declared exceptions naming single hosts and specific ports.",
             "基本方針 6(3)①, 定義 2(8)(9)", ALL, (_MN, _LG)),
    RuleInfo("SEG003", "lgwan-internet-path-split",
             "No IP path between LGWAN and Internet: only sanitizer relays connect them.",
             "基本方針 6(3)②, 定義 2(11)", ALL, (_LG, _INET)),
    RuleInfo("SEG004", "sanitizer-declared-services",
             "Each sanitizer accepts only its declared services, in its declared direction, from its declared side.",
             "基本方針 6(3)②, 定義 2(12)", ALL),
    RuleInfo("SEG005", "security-cloud-egress",
             "All traffic from the Internet segment to the outside Internet passes the security cloud.",
             "基本方針 6(3)③", ALL,
             (frozenset({Segment.INTERNET}), frozenset({Segment.EXTERNAL_INTERNET}))),
    RuleInfo("SEG006", "no-unapproved-dual-homing",
             "No node other than an approved sanitizer or gateway sits in two segments; no sanitizer forwards IP.",
             "基本方針 6(3)②, 定義 2(11)(12)", ALL),
    RuleInfo("SEG007", "mynumber-terminal-controls",
             "My Number terminals: multi-factor authentication on, removable-media export blocked.",
             "基本方針 6(3)①", ALL),
    RuleInfo("SEG008", "accountable-exceptions",
             "Exceptions are accountable: owner, justification, expiry; expired ones fail, unused ones warn.",
             "基本方針 6(9), 7 (監査・自己点検)", ALL),
    RuleInfo("SEG009", "beta-terminal-protection",
             "β/β′: terminals in the Internet segment have endpoint protection and EDR.",
             "基本方針 6(3)③", BETAS),
    RuleInfo("SEG010", "alpha-prime-breakout",
             "α′: LGWAN breakout only via the breakout proxy, only to allow-listed destinations.",
             "基本方針 6(3)②", frozenset({Profile.ALPHA_PRIME})),
    RuleInfo("SEG011", "lgwan-access-point",
             "The LGWAN backbone is reached only through the LGWAN access point.",
             "基本方針 6(3)②, 定義 2(9)", ALL,
             (frozenset({Segment.LGWAN, Segment.MYNUMBER}), frozenset({Segment.LGWAN_BACKBONE}))),
    RuleInfo("HYG001", "shadowed-acl-line",
             "An ACL line that can never match: lines above it take every packet it would match.",
             "基本方針 6(6) (技術的セキュリティ)", ALL),
    # Model completeness (HYG002-HYG008): gaps that could hide a path; --strict makes them errors.
    RuleInfo("HYG002", "interface-on-no-link",
             "Every addressed interface sits on a link or LAN (otherwise it is down and paths through it are unchecked).",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG003", "next-hop-unowned",
             "Every gateway and route next hop is an address some interface on the connected subnet owns.",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG004", "next-hop-unreachable",
             "Every next hop is reachable on layer 2: the owner sits on the same link or LAN as the route's interface.",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG005", "zone-without-interface",
             "Every zone has at least one interface.",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG006", "acl-unbound",
             "Every ACL is bound to an interface (acl_in or acl_out).",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG007", "external-node-cut-off",
             "Every external node is joined by links to a device of the network.",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
    RuleInfo("HYG008", "node-without-live-interface",
             "Every node has at least one interface on a link or LAN.",
             "基本方針 7 (監査・自己点検): model completeness", ALL),
)}

COMPLETENESS = frozenset({"HYG002", "HYG003", "HYG004", "HYG005", "HYG006", "HYG007", "HYG008"})


def rules_for(profile: Profile) -> tuple[str, ...]:
    return tuple(rid for rid, info in CATALOGUE.items() if profile in info.profiles)
