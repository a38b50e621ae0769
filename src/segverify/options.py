"""Command-line options and set-up shared by the commands of several modules (imports only click)."""

from __future__ import annotations

import datetime as _dt

import click


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> _dt.date | None:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-04-01") from None


today_option = click.option("--today", metavar="YYYY-MM-DD", callback=_parse_date,
                            help="Judge exception expiry as of this date (default: today).")

db_option = click.option("--db", metavar="FILE|URL", default=None,
                         help="The record: a SQLite file, or a postgresql:// URL (needs segverify[postgres]). "
                              "Default: $SEGVERIFY_RECORD, else segverify-record.sqlite here.")

lang_option = click.option("--lang", type=click.Choice(["en", "ja"]), default=None,
                           help="Language of the text output (default: Japanese under a Japanese locale, else English).")


def one_analysis() -> None:
    """This command reads, compiles and checks one network and keeps it to the end: what each phase
    leaves alive is set aside from the cycle collector until the command ends (see
    :func:`segverify.cycles.survivors_set_aside`)."""
    from .cycles import survivors_set_aside

    click.get_current_context().with_resource(survivors_set_aside())
