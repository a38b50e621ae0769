"""The ``pcap-audit`` command. scapy is imported inside the function only, so ``segverify --help``
and the other commands do not pay for it.

Exit codes: 0 every flow allowed, 1 a policy violation or a flow the model says is impossible,
2 bad input (topology, capture, --at).
"""

from __future__ import annotations

import datetime as _dt
import sys
from typing import Callable

import click

from ..escape import for_terminal
from ..options import lang_option, today_option




def _progress_bar() -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A byte-based progress bar on stderr when progress is on (a terminal); nothing otherwise."""
    from ..progress import current

    if not current().enabled:
        return None, lambda: None
    state: dict[str, object] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label="reading capture", file=sys.stderr)
            bar.__enter__()
            state["bar"], state["done"] = bar, 0
        step = done - int(state["done"])  # type: ignore[call-overload]
        if step > 0:
            bar.update(step)  # type: ignore[attr-defined]
            state["done"] = done

    def close() -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.__exit__(None, None, None)  # type: ignore[attr-defined]

    return update, close


@click.command("pcap-audit")
@click.argument("path", type=click.Path())
@click.argument("capture", type=click.Path())
@click.option("--at", "at", metavar="NODE:IFACE",
              help="The capture was taken at this interface: packets entered the node there (or left by it).")
@click.option("--write-violations", "violations_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the packets of every violating flow, unchanged, to this pcap file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@today_option
@lang_option
def pcap_audit(path: str, capture: str, at: str | None, violations_file: str | None, fmt: str,
               today: _dt.date | None, lang: str | None) -> None:
    """Classify every flow of CAPTURE (pcap or pcapng) against PATH: allowed, impossible in the
    model (model drift) or a policy violation. Exit 0 all allowed, 1 otherwise, 2 bad input."""
    from .. import load
    from ..outputs.files import check_output, inputs_of, refuse_overwrite
    from ..outputs.json import dumps
    from ..i18n import language_from_environment, text as say
    from .pcap import audit, format_text

    if violations_file is not None:
        check_output(violations_file)
    topology = load(path)
    refuse_overwrite(violations_file, inputs_of(topology, also=[path, capture]), "--write-violations")
    update, close = _progress_bar()
    try:
        result = audit(topology, capture, at=at, today=today, progress=update)
    finally:
        close()
    written = None
    if violations_file is not None:
        written = result.write_violations(violations_file)
    if fmt == "json":
        data = result.to_dict()
        if violations_file is not None:
            data["violations_file"] = {"path": violations_file, "packets": written}
        click.echo(dumps(data), nl=False)
    else:
        lang = lang or language_from_environment()
        text = format_text(result, lang)
        if violations_file is not None and written is not None:
            flows = len(result.violations)
            text += "\n" + say(lang, "pcap.wrote", file=violations_file,
                                packets=say(lang, "pcap.packets_1") if written == 1 else say(lang, "pcap.packets_n", n=written),
                                flows=say(lang, "pcap.vflows_1") if flows == 1 else say(lang, "pcap.vflows_n", n=flows)) + "\n"
        click.echo(for_terminal(text), nl=False)
    sys.exit(result.exit_code)
