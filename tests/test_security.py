"""Security defects found by attacking the command line: each reproducer, and the class it belongs to."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import segverify
from segverify.cli import main
from segverify.errors import InputError, QueryError
from segverify.packets import parse_packet

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
ROOT = Path(__file__).parent.parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


# -- trace --packet: parsed by an allow-list, never evaluated ---------------------------------------

ESCAPES = [
    "IP.__init__.__globals__['__builtins__']['__import__']('os').system('touch {marker}')",
    "IP(src=__import__('os').system('touch {marker}'))",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "(lambda: open('{marker}', 'w'))()",
    "IP(**{{'dst': open('{marker}', 'w').name}})",
    "IP(dst='10.0.0.1')/TCP(dport=len(open('{marker}', 'w').name))",
    "IP(dst=f'{{open(\"{marker}\", \"w\")}}')",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_packet_expression_runs_no_code(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(QueryError, match="cannot build a packet|names no source address"):
        parse_packet(template.format(marker=marker))
    assert not marker.exists()


def test_packet_expression_through_the_cli_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code, out, err = run(capsys, "trace", str(TINY), "--src", "pc1",
                         "--packet", ESCAPES[0].format(marker=marker))
    assert code == 2 and not marker.exists() and "Traceback" not in err and out == ""


@pytest.mark.parametrize("text, number", [
    ('IP(src="10.1.0.10",dst="10.2.0.10")/TCP(dport=445)', 445),
    ('IP(src="10.1.0.10", dst="10.2.0.10") / UDP(sport=5353, dport=53) / Raw(load=b"x")', 53),
    ('Ether()/IP(src="10.1.0.10",dst="10.2.0.10")/TCP(dport=80, flags="S")', 80),
])
def test_packet_expressions_still_work(text: str, number: int) -> None:
    packet = parse_packet(text)
    assert str(packet.src) == "10.1.0.10" and packet.dport == number


@pytest.mark.parametrize("text, message", [
    ('IP(dst="example.com")', "IPv4 address"),  # scapy would ask DNS
    ('IP(src="10.0.0.2", dst="10.0.0.1")/TCP(dport=99999)', "out of range"),
    ('IP(dst="10.0.0.1", proto=' + "9" * 5000 + ")", "at most"),
    ('IP(dst="10.0.0.1")/TCP(dport=' + "9" * 4400 + ")", "at most|digits"),
    ("IP(" * 300 + ")" * 300, "nested|at most|cannot build"),
    ('IP(src="10.0.0.2", dst="10.0.0.1", nosuchfield=1)', "cannot build"),
    ('IP("10.0.0.1")', "name=value"),
    ("x.pcap:0", "numbered from 1"),
])
def test_bad_packet_expressions_are_query_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_packet(text)


# -- diff --git REV: REV is never an option ---------------------------------------------------------

@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed for diff --git")
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(TINY, work / "net.yaml")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (["init", "-q"], ["add", "net.yaml"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env, capture_output=True)
    return work


@pytest.mark.parametrize("revision", ["--output={victim}", "--remote=file:///nonexistent", "-h", "HEAD --output={victim}"])
def test_git_revision_is_not_an_option(capsys: pytest.CaptureFixture[str], repo: Path, revision: str) -> None:
    victim = repo / "victim.txt"
    victim.write_text("keep me\n")
    code, _out, err = run(capsys, "diff", "--git", revision.format(victim=victim), str(repo / "net.yaml"))
    assert code == 2 and "does not name a commit" in err and "Traceback" not in err
    assert victim.read_text() == "keep me\n"


def test_git_revision_still_resolves(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    code, out, _err = run(capsys, "diff", "--git", "HEAD", str(repo / "net.yaml"))
    assert code == 0 and out


# -- include: confined to the top-level topology's tree ---------------------------------------------

def test_include_outside_the_tree_is_refused_without_quoting(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("zones: {leaked-secret-line: oops\n", encoding="utf-8")
    (tmp_path / "net").mkdir()
    main_file = tmp_path / "net" / "main.yaml"
    text = TINY.read_text(encoding="utf-8")
    for target in ("../secret.yaml", str(secret), "/proc/self/status", "/etc/passwd"):
        main_file.write_text(text + f"include: [{target!r}]\n", encoding="utf-8")
        with pytest.raises(InputError, match="outside") as info:
            segverify.load(main_file)
        assert "leaked-secret-line" not in str(info.value) and "Name:" not in str(info.value)
        assert info.value.span is not None and info.value.span.file == str(main_file)


def test_symlink_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "nodes.yaml").write_text("nodes: {leaked: secret}\n", encoding="utf-8")
    net = tmp_path / "net"
    net.mkdir()
    (net / "parts").symlink_to(outside)
    (net / "link.yaml").symlink_to(outside / "nodes.yaml")
    text = TINY.read_text(encoding="utf-8")
    for target in ("parts/", "link.yaml", "parts/nodes.yaml"):
        (net / "main.yaml").write_text(text + f"include: [{target}]\n", encoding="utf-8")
        with pytest.raises(InputError, match="outside") as info:
            segverify.load(net / "main.yaml")
        assert "secret" not in str(info.value)


def test_include_inside_the_tree_still_works(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8")
    head, _, rest = text.partition("nodes:")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nodes.yaml").write_text("nodes:" + rest, encoding="utf-8")
    (tmp_path / "main.yaml").write_text(head + "include: [sub/../sub/nodes.yaml]\n", encoding="utf-8")
    assert "srv" in segverify.load(tmp_path / "main.yaml").nodes


# -- no command writes over a file it read ----------------------------------------------------------

def _copy_tiny(tmp_path: Path) -> Path:
    target = tmp_path / "net.yaml"
    shutil.copy(TINY, target)
    return target


@pytest.mark.parametrize("command", [
    ["check", "{topo}", "--output", "{topo}"],
    ["check", "{topo}", "--format", "json", "-o", "{link}"],
    ["check", "{main}", "-o", "{part}"],
    ["whatif", "{topo}", "--fail", "fw", "-o", "{topo}"],
    ["diff", "{topo}", "{other}", "-o", "{other}"],
    ["diff", "{topo}", "{other}", "-o", "{topo}"],
    ["matrix", "{svg}", "--plot", "{svg}"],
    ["draw", "{svg}", "-o", "{svg}"],
    ["report", "{html}", "-o", "{html}"],
])
def test_outputs_never_overwrite_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        command: list[str]) -> None:
    topo = _copy_tiny(tmp_path)
    other = tmp_path / "other.yaml"
    shutil.copy(TINY, other)
    link = tmp_path / "link.json"
    link.symlink_to(topo)
    svg, html = tmp_path / "net.svg", tmp_path / "net.html"  # a topology with a picture's name
    shutil.copy(TINY, svg)
    shutil.copy(TINY, html)
    text = TINY.read_text(encoding="utf-8")
    head, _, rest = text.partition("nodes:")
    (tmp_path / "main.yaml").write_text(head + "include: [part.yaml]\n", encoding="utf-8")
    (tmp_path / "part.yaml").write_text("nodes:" + rest, encoding="utf-8")
    names = {"topo": topo, "other": other, "link": link, "svg": svg, "html": html,
             "main": tmp_path / "main.yaml", "part": tmp_path / "part.yaml"}
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code, _out, err = run(capsys, *[a.format(**names) for a in command])
    assert code == 2 and "would overwrite the input" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_pcap_audit_does_not_write_over_its_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.utils import wrpcap

    capture = tmp_path / "cap.pcap"
    wrpcap(str(capture), [IP(src="10.1.0.10", dst="10.2.0.10") / TCP(dport=80, flags="S")])
    before = capture.read_bytes()
    code, _out, err = run(capsys, "pcap-audit", str(TINY), str(capture), "--write-violations", str(capture))
    assert code == 2 and "would overwrite the input" in err
    assert capture.read_bytes() == before
