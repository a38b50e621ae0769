"""The ``record`` and ``history`` commands (imports only click until they run)."""

from __future__ import annotations

import datetime as _dt
import sys

import click

from ..escape import for_terminal
from ..i18n import language_from_environment
from ..options import db_option, lang_option, today_option

PROFILES = click.Choice(["alpha", "alpha-prime", "beta", "beta-prime"])


@click.command("record")
@click.argument("path", type=click.Path(exists=False, dir_okay=True))
@db_option
@click.option("--profile", type=PROFILES, help="Model variant to check against (default: the topology's own).")
@today_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
def record_command(path: str, db: str | None, profile: str | None, today: _dt.date | None, fmt: str,
                   lang: str | None) -> None:
    """Check PATH and keep the run in the self-inspection record (自己点検の記録).

    Stores the date, every input file's SHA-256, the git revision when PATH is in a work tree, the
    profile, the verdict, every finding by fingerprint and the exceptions with their status. Exit 0
    once stored (the verdict is in the record; `segverify check` gives it as an exit code)."""
    from .. import load
    from ..outputs.json import dumps
    from ..policy.check import verify
    from ..progress import current
    from .keeping import keep, kept_dict, kept_line, open_record

    store = open_record(db)  # a damaged or foreign record stops us before the check runs
    with current().stage(f"loading {path}"):
        topology = load(path)
    report = verify(topology, profile=profile, today=today)
    kept = keep(store, report, path, [f.path for f in topology.files])
    if fmt == "json":
        click.echo(dumps(kept_dict(kept, report)), nl=False)
    else:
        click.echo(for_terminal(kept_line(kept, report, lang or language_from_environment())))
    sys.exit(0)


@click.command("history")
@db_option
@click.option("--topology", "name", metavar="NAME", help="Only this topology (its `name:`); default: every one.")
@click.option("--days", type=click.IntRange(0), default=90, show_default=True,
              help="List the exceptions that expire within this many days.")
@today_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
def history_command(db: str | None, name: str | None, days: int, today: _dt.date | None, fmt: str,
                    lang: str | None) -> None:
    """The trend of the self-inspection record: findings opened and fixed per run, each finding's
    first and last sighting and time to fix, exceptions expiring soon."""
    from ..outputs.json import dumps
    from .history import trends
    from .render import render_trends
    from .runs import load_runs
    from .store import default_location, open_store

    store = open_store(db or default_location(), create=False)
    runs, findings, exceptions = load_runs(store, name)
    if name is not None and not runs:
        raise click.BadParameter(f"no run of {name!r} in {store.location}", param_hint="--topology")
    result = trends(runs, findings, exceptions, today or _dt.date.today(), days)
    if fmt == "json":
        click.echo(dumps([t.to_dict() for t in result]), nl=False)
    else:
        click.echo(for_terminal(render_trends(result, store.location, lang or language_from_environment())), nl=False)
