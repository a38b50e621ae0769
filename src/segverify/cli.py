"""The command line: parse options, call the library, print, set the exit code. No logic lives here."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Iterable
import sys
import click

from .options import db_option, lang_option, one_analysis, today_option

from . import __version__
from .errors import Interrupted, SegverifyError
from .escape import for_terminal

if TYPE_CHECKING:
    from .reader import ParsedFiles

PROFILES = click.Choice(["alpha", "alpha-prime", "beta", "beta-prime"])


def _writable(output: str | None) -> None:
    """Check an output path before the work starts, so a typo costs a message, not a run."""
    if output:
        from .outputs.files import check_output

        check_output(output)


def _say(text: str, err: bool = False) -> None:
    """One line for a person: user strings in it cannot move the cursor or hide text."""
    click.echo(for_terminal(text), err=err)


def _not_over_inputs(output: str | None, *topologies: object, also: Iterable[str] = (),
                     option: str = "--output") -> None:
    """Refuse an output that is one of the files the command read (the topologies' files, ``also``)."""
    if output:
        from .outputs.files import inputs_of, refuse_overwrite

        refuse_overwrite(output, inputs_of(*topologies, also=also), option)


def _emit(text: str, output: str | None) -> None:
    if output:
        from .outputs.files import write_text

        write_text(output, text)
    else:
        click.echo(text, nl=False)


def _one_spelling(value: str | None, alias: str | None, name: str, old: str) -> str | None:
    """An option that also has its old spelling (kept so scripts keep working): at most one of the two."""
    if value is not None and alias is not None:
        raise click.UsageError(f"give {name} once ({old} is its old spelling)")
    return value if value is not None else alias


def _load(path: str, parsed: ParsedFiles | None = None):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from . import load
    from .importers import is_snapshot
    from .progress import current

    with current().stage(f"loading {path}"):
        if is_snapshot(Path(path)):
            from .importers.commands import summary
            from .importers.snapshot import load_snapshot_topology

            topology, notes = load_snapshot_topology(Path(path))
            click.echo(summary(path, notes), err=True)
            return topology
        return load(path, parsed=parsed)




def _use_jobs(jobs: int | None) -> None:
    """``--jobs`` for the work of one network in this process (forked.py), until the command ends."""
    from . import forked

    if jobs is None:
        forked.jobs_from_environment()  # a wrong SEGVERIFY_JOBS is said before the work starts
    before = forked.chosen_jobs()
    forked.use_jobs(jobs)
    click.get_current_context().call_on_close(lambda: forked.use_jobs(before))


path_argument = click.argument("path", type=click.Path(exists=False, dir_okay=True))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segverify")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it shows only on a terminal anyway).")
def cli(quiet: bool) -> None:
    """Prove that a network keeps its My Number, LGWAN and Internet segments apart (三層の対策)."""
    from .progress import configure, wanted

    configure(enabled=wanted(quiet))


jobs_option = click.option("--jobs", "-j", type=click.IntRange(1), default=None,
                           help="Worker processes on this machine: with several PATHs, networks checked at once "
                                "(default 1); with one, 1 keeps the check in one process (default: a large network "
                                "uses a second core; also SEGVERIFY_JOBS).")
scheduler_option = click.option("--scheduler", metavar="ADDRESS",
                                help="Run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
                                     "(needs segverify[distributed]).")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False, dir_okay=True), metavar="PATH...")
@click.option("--profile", type=PROFILES, help="Model variant to check against (default: the topology's own).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit", "github"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@today_option
@click.option("--fail-on", type=click.Choice(["warning", "error"]), default="error", show_default=True,
              help="Lowest severity that makes the exit code 1 (warnings alone exit 0 unless 'warning').")
@click.option("--strict", is_flag=True, help="Model-completeness warnings (HYG002-HYG008) are errors.")
@click.option("--select", metavar="IDS", help="Report only these rules: ids or prefixes, comma-separated (SEG001,HYG).")
@click.option("--ignore", metavar="IDS", help="Leave these rules out: ids or prefixes, comma-separated.")
@click.option("--baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="Leave out the findings whose fingerprints this file accepts (see --write-baseline).")
@click.option("--write-baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="Accept every current finding: write their fingerprints to FILE, then report without them.")
@jobs_option
@scheduler_option
@click.option("--lang", type=click.Choice(["en", "ja"]), default=None,
              help="Language of the text output (default: Japanese under a Japanese locale, else English).")
@click.option("--record", "keep_record", is_flag=True,
              help="Also keep this run in the self-inspection record, as `segverify record` does: every "
                   "finding, before --select, --ignore and --baseline leave some out.")
@db_option
def check(paths: tuple[str, ...], profile: str | None, fmt: str, output: str | None, today: _dt.date | None,
          fail_on: str, strict: bool, select: str | None, ignore: str | None, baseline: str | None,
          write_baseline: str | None, jobs: int | None, scheduler: str | None, lang: str | None, keep_record: bool,
          db: str | None) -> None:
    """Verify PATH against the rule catalogue. Exit 0 compliant (warnings alone pass), 1 errors, 2 bad input.

    Several PATHs are checked independently (with --jobs or --scheduler, in parallel) and reported
    in the order given, each under its path (text) or as one JSON object; the exit code is the worst."""
    from .analysis import analyse
    from .outputs import RENDERERS
    from .words import plural
    from .policy.selection import apply_baseline, baseline_text, parse_rule_terms, read_baseline, select_rules

    chosen, left_out = parse_rule_terms(select, "--select"), parse_rule_terms(ignore, "--ignore")
    _use_jobs(jobs)
    _writable(output)
    if db is not None and not keep_record:
        raise click.UsageError("--db names the record for --record; give --record too")
    if keep_record and (len(paths) > 1 or scheduler is not None):
        raise click.UsageError("--record keeps one network checked here (no several PATHs, no --scheduler); "
                               "record each with its own `check --record`")
    store = None
    if keep_record:
        from .record.keeping import open_record

        store = open_record(db)  # a damaged or foreign record stops us before the check runs
    if len(paths) > 1 or scheduler is not None:
        from .batch import BATCH_FORMATS, CheckOptions, check_many, exit_code_of, render_many

        if len(paths) > 1 and fmt not in BATCH_FORMATS:
            raise click.UsageError(f"with several networks use --format {' or '.join(BATCH_FORMATS)}")
        if baseline or write_baseline:
            raise click.UsageError("--baseline and --write-baseline take one network, checked here (no --scheduler)")
        results = check_many(paths, CheckOptions(profile, today, strict, fail_on, fmt, chosen, left_out), jobs or 1,
                             scheduler)
        _not_over_inputs(output, also=[f for r in results for f in r.inputs])
        _emit(render_many(results, fmt) if len(paths) > 1 else results[0].rendered, output)
        sys.exit(exit_code_of(results))
    path = paths[0]
    _writable(write_baseline)
    accepted = read_baseline(baseline) if baseline else frozenset()
    one_analysis()
    topology = _load(path)
    _not_over_inputs(output, topology, also=[path])
    _not_over_inputs(write_baseline, topology, also=[path], option="--write-baseline")
    # The analysis stays referenced until the process leaves: freeing its network and propagations
    # object by object took 1-2 s at 10,000 devices, for memory the exit gives back at once.
    analysed = analyse(topology, profile, today, strict=strict)
    checked = analysed.report
    if store is not None:
        from .record.keeping import keep, kept_line

        from .i18n import language_from_environment

        kept = keep(store, checked, path, [f.path for f in topology.files])
        click.echo(for_terminal(kept_line(kept, checked, lang or language_from_environment())), err=True)
    report = select_rules(checked, chosen, left_out)
    if write_baseline:
        _emit(baseline_text(report), write_baseline)
        click.echo(f"wrote {plural(len(report.active), 'fingerprint')} to {write_baseline}", err=True)
        accepted |= {f.fingerprint for f in report.active}
    if accepted:
        result = apply_baseline(report, accepted)
        report = result.report
        if result.stale and baseline:
            click.echo(f"segverify: note: {plural(result.stale, 'baseline fingerprint')} of {baseline} "
                       f"{'matches' if result.stale == 1 else 'match'} no finding any more (fixed since; --write-baseline refreshes the file)", err=True)
    if fmt == "text":
        from .i18n import language_from_environment
        from .outputs.text import render_text

        _emit(render_text(report, lang or language_from_environment()), output)
    else:
        _emit(RENDERERS[fmt](report), output)
    sys.exit(report.exit_code_for(fail_on))


@cli.command()
@path_argument
@click.option("--from", "src", required=True,
              help="Where the flows start: segment:NAME, zone:NAME, node:NAME, pool:NAME, lan:LAN, an address or "
                   "prefix; a bare name if it names one kind only; a comma-separated list.")
@click.option("--to", "dst", required=True,
              help="Where the flows end, as --from; a device (node:fw) stands for its own addresses.")
@click.option("--proto", help="Only this protocol (tcp, udp, icmp, ... or a number).")
@click.option("--dport", help="Only these destination ports: 443, 400-500 or a list like 80,443,8000-8099.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Show at most this many pairs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def query(path: str, src: str, dst: str, proto: str | None, dport: str | None, limit: int, fmt: str) -> None:
    """What gets from --from to --to: flows, an example packet and its path for each pair."""
    from .analysis import compile_network
    from .outputs.json import dumps
    from .query import query as ask
    from .query import resolve_place
    from .reach import Reachability
    from .words import plural

    topo = _load(path)
    net = compile_network(topo)
    answers = ask(net, Reachability(net), resolve_place(topo, net, src, sending=True), resolve_place(topo, net, dst),
                  proto, dport)
    if fmt == "json":
        click.echo(dumps([{"from": a.source, "to": a.destination, "headers": a.headers.describe(),
                           "flows": a.headers.groups(), "witness": a.witness.to_dict(),
                           "path": a.path.to_dict() if a.path else None,
                           "rule_locations": [str(d.span) for d in a.path.permits()] if a.path else []}
                          for a in answers]), nl=False)
        return
    if not answers:
        _say(f"nothing gets from {src} to {dst}")
        return
    for a in answers[:limit]:
        _say(f"{a.source} -> {a.destination}")
        for line in a.headers.describe():
            _say(f"  flows:   {line}")
        _say(f"  example: {a.witness}")
        if a.path is not None:
            for i, hop in enumerate(a.path.hops, 1):
                _say(f"    {i}. {hop.describe()}")
    more = len(answers) - limit
    _say(f"{plural(len(answers), 'pair')} with flows" + (f"; {more} not shown (--limit)" if more > 0 else ""))


@cli.command()
@path_argument
@click.option("--profile", type=PROFILES, help="Model variant to check against (default: the topology's own).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write the matrix as a heatmap: .png, .svg or .pdf.")
@today_option
def matrix(path: str, profile: str | None, fmt: str, plot: str | None, today: _dt.date | None) -> None:
    """Zone × zone table of what crosses: none, allowed, sanitized only, exception, violation."""
    from .analysis import analyse
    from .cycles import settled
    from .outputs.json import dumps
    from .outputs.matrix_text import render_matrix

    if plot:
        from .viz.commands import check_heatmap_output

        check_heatmap_output(plot)
    one_analysis()
    topo = _load(path)
    _not_over_inputs(plot, topo, also=[path], option="--plot")
    found = analyse(topo, profile=profile, today=today)
    with settled():
        m = found.matrix
        if plot:
            from .viz.commands import write_heatmap

            write_heatmap(m, plot, topo)
        table = dumps(m.to_dict()) if fmt == "json" else render_matrix(m)  # 80,000 cells at a prefecture
    click.echo(table, nl=False)


@cli.command()
@path_argument
@click.option("--from", "src", help="Sending node or pool (node:NAME, pool:NAME, lan:LAN), or a source address: an "
                                    "address no interface owns is sent by its LAN subnet's pool.")
@click.option("--to", "dst", help="Destination node, pool or address.")
@click.option("--src", "src_alias", hidden=True, help="Old spelling of --from.")
@click.option("--dst", "dst_alias", hidden=True, help="Old spelling of --to.")
@click.option("--packet", "packet_text", metavar="SCAPY|PCAP[:N]",
              help="The packet as a scapy expression, e.g. 'IP(src=\"10.1.0.10\",dst=\"10.2.0.10\")/TCP(dport=445)', "
                   "or packet N of a capture; --from may name the sending node (and gives the source address "
                   "when the expression has none).")
@click.option("--proto", default="tcp", show_default=True, help="tcp, udp, icmp, ... or a number.")
@click.option("--dport", type=click.IntRange(0, 65535), default=None, help="Destination port (default 443 for tcp/udp).")
@click.option("--sport", type=click.IntRange(0, 65535), default=49152, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def trace(path: str, src: str | None, dst: str | None, src_alias: str | None, dst_alias: str | None,
          packet_text: str | None, proto: str, dport: int | None, sport: int, fmt: str) -> None:
    """Follow one packet hop by hop: interfaces, routes, ACL lines (file:line), NAT and the outcome."""
    from .headers import Packet
    from .model import PORTED_PROTOCOLS, PROTOCOLS, protocol_number
    from .network import Network
    from .outputs.json import dumps
    from .query import concrete_destination, concrete_source
    from .trace import trace as follow

    src, dst = _one_spelling(src, src_alias, "--from", "--src"), _one_spelling(dst, dst_alias, "--to", "--dst")
    topo = _load(path)
    net = Network(topo)
    if packet_text is not None:
        from .packets import parse_packet

        sender = concrete_source(topo, net, src) if src is not None else None
        # Without IP(src=...) scapy would fill in this machine's own address: take --from's instead.
        packet = parse_packet(packet_text, default_src=sender[1] if sender else None)
        node = sender[0] if sender else concrete_source(topo, net, str(packet.src))[0]
    else:
        if src is None or dst is None:
            raise click.UsageError("give --from and --to, or --packet")
        number = protocol_number(proto)
        if number is None:
            raise click.BadParameter(f"unknown protocol {proto!r} (one of {', '.join(PROTOCOLS)} or a number 0-255)",
                                     param_hint="--proto")
        node, src_addr = concrete_source(topo, net, src)
        ported = number in PORTED_PROTOCOLS
        packet = Packet(src_addr, concrete_destination(topo, dst), number, sport if ported else 0,
                        (dport if dport is not None else 443) if ported else 0)
    paths = follow(net, node, packet)
    if fmt == "json":
        click.echo(dumps({"packet": packet.to_dict(), "source": node, "paths": [p.to_dict() for p in paths]}), nl=False)
    else:
        pool = topo.nodes[node].pool
        _say(f"{packet} sent by {pool.label if pool is not None else node}")
        for n, p in enumerate(paths, 1):
            if len(paths) > 1:
                _say(f"branch {n}:")
            for i, hop in enumerate(p.hops, 1):
                _say(f"  {i}. {hop.describe()}")
            _say(f"  => {p.outcome.value} at {p.final_node}")
    sys.exit(0 if any(p.delivered for p in paths) else 1)


REPORT_FORMATS = click.Choice(["text", "json", "sarif", "junit", "github"])


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--git", "revision", metavar="REV", help="Compare PATH in the work tree with PATH at this git revision.")
@click.option("--profile", type=PROFILES, help="Model variant to check against (default: each topology's own).")
@click.option("--format", "fmt", type=REPORT_FORMATS, default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@click.option("--fail-on-new-reachability", is_flag=True,
              help="Also exit 1 when the change newly allows any flow between two segments.")
@today_option
def diff(paths: tuple[str, ...], revision: str | None, profile: str | None, fmt: str, output: str | None,
         fail_on_new_reachability: bool, today: _dt.date | None) -> None:
    """What a change newly allows and blocks: `diff OLD NEW`, or `diff --git REV PATH`."""
    import tempfile

    from .changes import checkout
    from .changes import diff as compare
    from .outputs.diff import DIFF_RENDERERS
    from .reader import ParsedFiles

    _writable(output)
    with tempfile.TemporaryDirectory(prefix="segverify-diff-") as tmp:
        if revision is not None:
            if len(paths) != 1:
                raise click.UsageError("with --git give exactly one PATH (the topology in the work tree)")
            old_path, new_path = checkout(revision, paths[0], tmp), paths[0]
        elif len(paths) == 2:
            old_path, new_path = paths
        else:
            raise click.UsageError("give OLD and NEW, or --git REV PATH")
        parsed = ParsedFiles()  # the files the two versions share are parsed once
        old_topology, new_topology = _load(old_path, parsed), _load(new_path, parsed)
        _not_over_inputs(output, new_topology, *([] if revision else [old_topology]), also=paths)
        result = compare(old_topology, new_topology, profile=profile, today=today)
    _emit(DIFF_RENDERERS[fmt](result), output)
    sys.exit(result.exit_code(fail_on_new_reachability))


@cli.command()
@path_argument
@click.option("--fail", "fail", multiple=True, metavar="NODE|LINK", help="Take this node, link or LAN down (repeatable).")
@click.option("--fail-open", "fail_open", multiple=True, metavar="FIREWALL",
              help="Let this device pass everything, as a firewall failing open (repeatable).")
@click.option("--k-failures", type=click.IntRange(0, 4), default=0, help="Play out every combination of K link/device failures.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True, help="Worker processes for --k-failures.")
@scheduler_option
@click.option("--profile", type=PROFILES, help="Model variant to check against (default: the topology's own).")
@click.option("--format", "fmt", type=REPORT_FORMATS, default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@today_option
@lang_option
def whatif(path: str, fail: tuple[str, ...], fail_open: tuple[str, ...], k_failures: int, jobs: int,
           scheduler: str | None, profile: str | None, fmt: str, output: str | None, today: _dt.date | None,
           lang: str | None) -> None:
    """Which failures would open a forbidden path (a backup link around a firewall, a bypass)."""
    from .failures import whatif as play
    from .i18n import language_from_environment
    from .outputs.whatif import WHATIF_RENDERERS, render_whatif_text

    _writable(output)
    topology = _load(path)
    _not_over_inputs(output, topology, also=[path])
    result = play(topology, fail, fail_open, k_failures, jobs, profile, today, scheduler=scheduler)
    if fmt == "text":
        _emit(render_whatif_text(result, lang or language_from_environment()), output)
    else:
        _emit(WHATIF_RENDERERS[fmt](result), output)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("path", required=False, type=click.Path())
@click.option("--probes", type=click.IntRange(1), help="Send this many probes (default: every planned probe).")
@click.option("--keep", is_flag=True, help="Leave the namespaces up afterwards, to look around.")
@click.option("--cleanup", "clean", is_flag=True, help="Remove namespaces left behind by earlier runs, then exit.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random filler probes.")
@click.option("--verbose", "-v", is_flag=True, help="List every probe, not only disagreements.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def emulate(path: str | None, probes: int | None, keep: bool, clean: bool, seed: int, verbose: bool, fmt: str) -> None:
    """Build PATH in Linux network namespaces, send probes, compare with the engine (needs root, ip, nft)."""
    from .emulate import check_environment, cleanup, emulate as run, format_text
    from .outputs.json import dumps
    from .words import plural

    check_environment()
    if clean:
        removed = cleanup()
        click.echo("\n".join(removed) + ("\n" if removed else "") + f"removed {plural(len(removed), 'leftover namespace')}")
        return
    if path is None:
        raise click.UsageError("give a PATH to emulate (or --cleanup)")
    result = run(_load(path), probes=probes, keep=keep, seed=seed)
    click.echo(dumps(result.to_dict()) if fmt == "json" else for_terminal(format_text(result, verbose=verbose)), nl=False)
    sys.exit(result.exit_code)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the topology format (for editors and CI)."""
    from .schema import schema_json

    click.echo(schema_json(), nl=False)


from .viz.commands import draw, report  # noqa: E402 - imports only click; matplotlib loads inside the commands

from .generate import generate_command  # noqa: E402
from .importers.commands import import_command  # noqa: E402
from .simulate.commands import pcap_audit  # noqa: E402 - imports only click; scapy loads inside the command
from .record.commands import history_command, record_command  # noqa: E402 - imports only click

cli.add_command(draw)
cli.add_command(report)
cli.add_command(pcap_audit)
cli.add_command(generate_command)
cli.add_command(record_command)
cli.add_command(history_command)
cli.add_command(import_command)


def run() -> None:
    """The program (``segverify``, ``python -m segverify``): :func:`main`, then out of the process
    without taking the interpreter apart (see :mod:`segverify.leaving`)."""
    from .leaving import leave

    try:
        main()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input and usage are exit code 2 with one message, never a traceback."""
    try:
        cli.main(args=argv, prog_name="segverify", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except Interrupted as exc:
        _say(f"segverify: {exc}", err=True)
        sys.exit(exc.exit_code)
    except SegverifyError as exc:
        _say(f"segverify: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)

