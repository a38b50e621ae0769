"""The ``draw`` and ``report`` commands. matplotlib is imported inside the functions only, so
``segverify --help`` and the other commands do not pay for it.

Both commands write a file and exit 0 (the verdict is in the file; ``segverify check`` gives it as
an exit code), 2 for bad input or an unknown output format.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..i18n import language_from_environment
from ..options import one_analysis, today_option
from ..progress import current


if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..matrix import Matrix
    from ..model import Topology

PROFILES = click.Choice(["alpha", "alpha-prime", "beta", "beta-prime"])


def _warn(message: str) -> None:
    click.echo(f"segverify: warning: {message}", err=True)




def _analysed(path: str, profile: str | None, today: _dt.date | None, output: str) -> Analysis:
    """Load PATH, refuse an ``output`` that would overwrite one of its files, then analyse it."""
    from .. import load
    from ..analysis import analyse
    from ..outputs.files import inputs_of, refuse_overwrite
    from ..progress import current

    one_analysis()
    with current().stage(f"loading {path}"):
        topology = load(path)
    refuse_overwrite(output, inputs_of(topology, also=[path]))
    return analyse(topology, profile=profile, today=today)


def _at_scale(topology: Topology) -> bool:
    from .atlas import at_scale

    return at_scale(topology)


def _check_suffix(output: str, allowed: tuple[str, ...]) -> None:
    """The output's name and directory, checked before the work starts."""
    from ..outputs.files import check_output

    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise click.BadParameter(f"{output}: name the file .{', .'.join(allowed)}", param_hint="--output")
    check_output(output)


path_argument = click.argument("path", type=click.Path(exists=False, dir_okay=True))
lang_option = click.option("--lang", type=click.Choice(["en", "ja"]), default=None,
                           help="Language of the texts (default: Japanese under a Japanese locale, else English).")
profile_option = click.option("--profile", type=PROFILES,
                              help="Model variant to check against (default: the topology's own).")


@click.command()
@path_argument
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="The picture to write: .png, .svg or .pdf, or .html for the interactive map.")
@click.option("--highlight", metavar="SRC:DST[:PROTO[/PORT]] | RULE | FINGERPRINT",
              help="Draw one flow (e.g. lg-pc01:inet-vb:tcp/443) in blue over the map, or keep only the findings "
                   "of one rule id or fingerprint bold.")
@click.option("--from", "src", metavar="NODE|ADDRESS", help="Draw the flow from here (with --to), as query and trace.")
@click.option("--to", "dst", metavar="NODE|ADDRESS", help="... to here.")
@click.option("--proto", help="The highlighted flow's protocol (with --from/--to; default tcp).")
@click.option("--dport", type=click.IntRange(0, 65535), help="The highlighted flow's destination port.")
@lang_option
@profile_option
@today_option
def draw(path: str, output: str, highlight: str | None, src: str | None, dst: str | None, proto: str | None,
         dport: int | None, lang: str | None, profile: str | None, today: _dt.date | None) -> None:
    """Draw the segment map of PATH: segments as regions, findings' witness paths in red.

    map.html is the interactive map: one self-contained file (pan, zoom, search, group and
    collapse by municipality, segment or zone; click a finding for its path hop by hop)."""
    if (src is None) != (dst is None):
        raise click.UsageError("give --from and --to together")
    if src is not None:
        if highlight is not None:
            raise click.UsageError("give --highlight or --from/--to, not both")
        highlight = f"{src}:{dst}" + (f":{proto or 'tcp'}" if proto or dport is not None else "") + \
            (f"/{dport}" if dport is not None else "")
    elif proto is not None or dport is not None:
        raise click.UsageError("--proto and --dport go with --from and --to")
    _check_suffix(output, ("png", "svg", "pdf", "html"))
    interactive = output.lower().endswith(".html")
    if interactive and highlight is not None:
        raise click.BadParameter("the interactive map highlights findings by a click; give no --highlight",
                                 param_hint="--highlight")
    from ..cycles import settled

    found = _analysed(path, profile, today, output)
    with settled(), current().stage(f"drawing {len(found.topology.nodes):,} devices into {output}"):
        if interactive:
            from ..outputs.files import write_text
            from .interactive import render_map_html

            write_text(output, render_map_html(found.topology, found.network, found.report,
                                               lang=lang or language_from_environment()))
        elif highlight is None and _at_scale(found.topology):
            from .atlas import write_atlas

            written = write_atlas(found.topology, found.network, found.report, output,
                                  lang=lang or language_from_environment(), warn=_warn)
            click.echo(f"wrote {output} (overview) and {len(written) - 1} municipality maps ({written[1]} …)",
                       err=True)
            return
        else:
            from .map import draw_map

            draw_map(found.topology, found.network, found.report, output, highlight=highlight, warn=_warn,
                     reach=found.reach, lang=lang or "en")
    click.echo(f"wrote {output}", err=True)


@click.command("report")
@path_argument
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="Report language.")
@profile_option
@today_option
@click.option("--db", metavar="FILE|URL", default=None,
              help="Add the trend of this network in the self-inspection record (the --db of `segverify "
                   "record`): findings opened and fixed per run as a chart, and exceptions expiring within 90 days.")
def report(path: str, output: str, lang: str, profile: str | None, today: _dt.date | None, db: str | None) -> None:
    """Write a self-contained HTML audit report of PATH (verdict, matrix, map, findings, exceptions;
    with --db, the self-inspection record)."""
    _check_suffix(output, ("html", "htm"))
    from ..outputs.files import write_text
    from ..cycles import settled
    from .report import render_report

    store = None
    if db is not None:
        from ..record.store import open_store

        store = open_store(db, create=False)  # a missing, damaged or foreign record stops us first
    found = _analysed(path, profile, today, output)
    record = None
    if store is not None:
        from ..record.keeping import trend_of

        record = (store.location, trend_of(store, found.report.topology, _dt.date.fromisoformat(found.report.today)))
    with settled(), current().stage(f"drawing the report's pictures and pages ({len(found.topology.nodes):,} devices)"):
        html = render_report(found.topology, found.report, found.matrix, lang=lang, network=found.network,
                             warn=_warn, record=record)
    write_text(output, html)
    click.echo(f"wrote {output}", err=True)


def check_heatmap_output(output: str) -> None:
    """For ``segverify matrix --plot FILE``, before the work: the file name and its directory."""
    _check_suffix(output, ("png", "svg", "pdf"))


def write_heatmap(matrix: Matrix, output: str, topology: Topology | None = None, lang: str = "en") -> None:
    """For ``segverify matrix --plot FILE``: check the file name, then write the heatmap."""
    check_heatmap_output(output)
    from .heatmap import plot_matrix

    with current().stage(f"drawing the heatmap {output}"):
        if topology is not None and _at_scale(topology):  # segment × segment and municipality × segment
            from ..outputs.files import write_bytes
            from .atlas import aggregate_figure
            from .heatmap import render

            write_bytes(output, render(aggregate_figure(matrix, topology, lang, _warn), Path(output).suffix[1:].lower()))
        else:
            plot_matrix(matrix, output, warn=_warn, lang=lang)
