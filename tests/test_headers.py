"""Header spaces: prefixes, port ranges, readable picks and descriptions."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from segverify.headers import FIELD_VARS, TRACKED, WIDTH, HeaderSet, HeaderSpace, Packet, range_to_prefixes
from segverify.model import Match, PortRange, ServiceTerm, Wildcard

SPACE = HeaderSpace()


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_range_to_prefixes_covers_exactly(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    covered = []
    for value, length in range_to_prefixes(low, high, 16):
        size = 1 << (16 - length)
        assert value % size == 0  # aligned blocks only
        covered.append((value, value + size - 1))
    covered.sort()
    assert covered[0][0] == low and covered[-1][1] == high
    assert all(x[1] + 1 == y[0] for x, y in zip(covered, covered[1:]))


@settings(max_examples=60)
@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535))
def test_port_range_membership(a: int, b: int, probe: int) -> None:
    low, high = min(a, b), max(a, b)
    headers = SPACE.port_range("dport", low, high) & SPACE.protocol(6)
    packet = Packet(IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2"), 6, 1000, probe)
    assert SPACE.contains(headers, packet) == (low <= probe <= high)


def test_match_selects_what_it_says() -> None:
    m = Match(src=(IPv4Network("10.1.0.0/24"),), dst=(IPv4Network("172.16.5.10/32"),),
              services=(ServiceTerm(6, dports=(PortRange(445, 445), PortRange(139, 139))),))
    headers = HeaderSet(SPACE, SPACE.match(m) & SPACE.new_flow)
    assert headers.contains(Packet(IPv4Address("10.1.0.7"), IPv4Address("172.16.5.10"), 6, 5000, 445))
    assert not headers.contains(Packet(IPv4Address("10.1.1.7"), IPv4Address("172.16.5.10"), 6, 5000, 445))
    assert not headers.contains(Packet(IPv4Address("10.1.0.7"), IPv4Address("172.16.5.10"), 17, 5000, 445))
    assert headers.describe() == ["tcp/139,445 from 10.1.0.0/24 to 172.16.5.10"]


def test_pick_prefers_readable_packets() -> None:
    m = Match(src=(IPv4Network("10.1.0.0/24"),), dst=(IPv4Network("172.16.5.0/24"),),
              services=(ServiceTerm(6, dports=(PortRange(1, 1000),)),))
    packet = HeaderSet(SPACE, SPACE.match(m) & SPACE.new_flow).pick()
    assert packet == Packet(IPv4Address("10.1.0.1"), IPv4Address("172.16.5.1"), 6, 49152, 443)


def test_non_port_protocols_have_zero_ports() -> None:
    gre = HeaderSet(SPACE, SPACE.protocol(47) & SPACE.new_flow)
    assert gre.pick() == Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.1"), 47, 0, 0)
    assert not gre.contains(Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.1"), 47, 0, 8))


def test_icmp_carries_type_and_code_in_the_port_fields() -> None:
    icmp = HeaderSet(SPACE, SPACE.protocol(1) & SPACE.new_flow)
    # An echo request (type 8 code 0) is the readable pick.
    assert icmp.pick() == Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.1"), 1, 0, 8)
    assert icmp.contains(Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.1"), 1, 4, 3))
    assert not icmp.contains(Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.1"), 1, 0, 256))
    unreachable = HeaderSet(SPACE, SPACE.service(ServiceTerm(1, dports=(PortRange(3, 3),))) & SPACE.new_flow)
    assert unreachable.contains(Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.2"), 1, 13, 3))
    assert not unreachable.contains(Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.2"), 1, 0, 8))
    # "any protocol, dport 0-100" reads an ICMP packet's ports as 0, whatever its type.
    low_ports = SPACE.service(ServiceTerm(None, dports=(PortRange(0, 100),)))
    assert SPACE.contains(low_ports, Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.2"), 1, 0, 200))
    high_ports = SPACE.service(ServiceTerm(None, dports=(PortRange(1, 100),)))
    assert not SPACE.contains(high_ports, Packet(IPv4Address("1.0.0.1"), IPv4Address("1.0.0.2"), 1, 0, 8))


def test_wildcard_masks_and_exclusions_are_single_cubes() -> None:
    w = Wildcard(int(IPv4Address("128.12.0.1")), int(IPv4Address("0.0.255.0")))
    m = Match(src=(), src_wild=(w,), dst_except=(Wildcard(int(IPv4Address("10.0.0.0")), 255),))
    headers = SPACE.match(m)
    tcp = 6
    assert SPACE.contains(headers, Packet(IPv4Address("128.12.77.1"), IPv4Address("10.0.1.1"), tcp, 1, 1))
    assert not SPACE.contains(headers, Packet(IPv4Address("128.12.77.2"), IPv4Address("10.0.1.1"), tcp, 1, 1))
    assert not SPACE.contains(headers, Packet(IPv4Address("128.12.77.1"), IPv4Address("10.0.0.9"), tcp, 1, 1))
    assert SPACE.wildcard("src", w).dag_size == 25  # 24 cared bits and the true node: no expansion


def test_everything_reads_as_any() -> None:
    assert HeaderSet(SPACE, SPACE.new_flow).describe() == ["any protocol from any to any"]


def test_origin_copies_read_back_as_sent() -> None:
    space = HeaderSpace(origin_bits=2, track_origin=True)
    sent = space.sent(space.address("src", IPv4Address("10.0.0.5")) & space.protocol(17) & space.new_flow)
    rewritten = space.set_field(sent, "src", space.address("src", IPv4Address("203.0.113.1")))
    live = HeaderSet(space, space.without_origin_copies(rewritten))
    assert live.pick().src == IPv4Address("203.0.113.1")
    assert HeaderSet(space, space.as_sent(rewritten)).pick().src == IPv4Address("10.0.0.5")


def _bits(field: str, value: int, length: int, origin: bool = False) -> dict[str, bool]:
    """The first ``length`` bits of ``field`` (most significant first) as a BDD assignment."""
    names = FIELD_VARS[(field, origin)]
    return {names[i]: bool((value >> (WIDTH[field] - 1 - i)) & 1) for i in range(length)}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["src", "dst", "proto", "dport", "sport"]), st.integers(0, 2 ** 32 - 1),
       st.integers(0, 32), st.booleans())
def test_prefix_cubes_are_the_cube_of_their_bits(field: str, value: int, length: int, origin: bool) -> None:
    space = HeaderSpace(origin_bits=4, track_origin=True)
    width = WIDTH[field]
    length, value = min(length, width), value % (1 << width)
    if origin and field not in TRACKED:
        origin = False
    built = space.value_prefix(field, value, length, origin)
    assert built == space.bdd.cube(_bits(field, value, length, origin))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 2 ** 32 - 1), st.integers(0, 255),
                          st.integers(0, 65535), st.integers(0, 65535), st.booleans()), min_size=1, max_size=4))
def test_a_packet_is_the_cube_of_its_bits(packets: list[tuple[int, int, int, int, int, bool]]) -> None:
    """Each packet's cube sets every bit of every field, asked in turn (the last one is kept)."""
    for src, dst, proto, sport, dport, est in packets + packets[:1]:
        bits = {"est": est}
        for field, value in (("src", src), ("dst", dst), ("proto", proto), ("sport", sport), ("dport", dport)):
            bits.update(_bits(field, value, WIDTH[field]))
        packet = Packet(IPv4Address(src), IPv4Address(dst), proto, sport, dport, est)
        assert SPACE.packet(packet) == SPACE.bdd.cube(bits)


def _pick_by_restriction(space: HeaderSpace, headers: object) -> Packet:
    """The witness choice made on the whole set, one restriction after another (what pick_packet
    does on projections): the reference it is compared with."""
    from segverify.headers import ICMP, PORTED_PROTOCOLS, PREFERRED_PORTS, PREFERRED_PROTOCOLS, _prefer

    def address(h: object, field: str) -> tuple[int, object]:
        h = _prefer(space, h, [~space.value_prefix(field, 0, 8)])
        value, only = space.min_value(h, field)
        if value & 0xFF == 0:
            nxt = h & space.address(field, IPv4Address(value + 1))
            if nxt != space.false:
                return value + 1, nxt
        return value, only

    h = _prefer(space, headers, [space.protocol(p) for p in PREFERRED_PROTOCOLS])
    proto, h = space.min_value(h, "proto")
    if proto in PORTED_PROTOCOLS:
        h = _prefer(space, h, [space.port_range("dport", p, p) for p in PREFERRED_PORTS])
        dport, h = space.min_value(h, "dport")
        h = _prefer(space, h, [space.port_range("sport", 49152, 65535), space.port_range("sport", 1024, 65535)])
        sport, h = space.min_value(h, "sport")
    else:
        if proto == ICMP:
            h = _prefer(space, h, [space.port_range("dport", 8, 8) & space.port_range("sport", 0, 0)])
        dport, h = space.min_value(h, "dport")
        sport, h = space.min_value(h, "sport")
    h = _prefer(space, h, [~space.bdd.var("est")])
    established = (h & ~space.bdd.var("est")) == space.false
    src, h = address(h, "src")
    dst, h = address(h, "dst")
    return Packet(IPv4Address(src), IPv4Address(dst), proto, sport, dport, established)


_PREFIXES = st.builds(lambda a, n: IPv4Network(((a >> (32 - n)) << (32 - n), n)), st.integers(0, 2 ** 32 - 1),
                      st.sampled_from([0, 8, 16, 24, 30, 32]))
_TERMS = st.builds(ServiceTerm, st.sampled_from([None, 1, 6, 17, 47]),
                   st.none(), st.one_of(st.none(), st.builds(lambda p: (PortRange(p, p + 3),), st.integers(0, 300))))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(_PREFIXES, min_size=1, max_size=3), st.lists(_PREFIXES, min_size=1, max_size=3),
                          st.one_of(st.none(), st.lists(_TERMS, min_size=1, max_size=3)), st.booleans()),
                min_size=1, max_size=4),
       st.integers(0, 15))
def test_witness_chosen_on_projections_is_the_one_chosen_on_the_whole_set(
        parts: list[tuple[list[IPv4Network], list[IPv4Network], list[ServiceTerm] | None, bool]], origin: int) -> None:
    space = HeaderSpace(origin_bits=4, track_origin=True)
    headers = space.false
    for src, dst, services, established in parts:
        headers |= space.match(Match(src=tuple(src), dst=tuple(dst), services=tuple(services) if services else None,
                                     established=True if established and not services else None))
    headers = space.sent(headers & space.well_formed) & space.origin(origin)
    if headers == space.false:
        return
    assert HeaderSet(space, headers).pick() == _pick_by_restriction(space, headers)


ORIGINS = HeaderSpace(origin_bits=6)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 63), max_size=64))
def test_a_set_of_origin_ids_by_blocks_is_the_union_of_each(ids: set[int]) -> None:
    one_by_one = ORIGINS.false
    for i in ids:
        one_by_one |= ORIGINS.origin(i)
    assert ORIGINS.origins(ids) == one_by_one
    assert ORIGINS.origins(sorted(ids, reverse=True) + sorted(ids)) == one_by_one  # order and repeats do not matter
