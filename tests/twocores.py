"""Checks of the forked worker (segverify.forked), run in a fresh process: ``python twocores.py WHAT ARGS``.

A process with a thread running never forks (the child could inherit a lock held for ever), and a
test session that has started a Dask cluster keeps one of its threads. So the tests run these in
a process of their own, which prints its answer as one JSON document on stdout.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from segverify import forked

FORMATS = ("json", "text", "sarif")


def _reports(path: str, today: _dt.date, jobs: int) -> dict[str, str]:
    """``path`` loaded and checked with ``jobs``; its reports, and its files' places as read."""
    import segverify
    from segverify.analysis import analyse
    from segverify.outputs import RENDERERS
    from segverify.reader import load_document

    forked.use_jobs(jobs)
    doc = load_document(path)
    found = analyse(segverify.load(path), today=today, jobs=jobs)
    shown = {fmt: RENDERERS[fmt](found.report) for fmt in FORMATS}
    shown["document"] = repr((doc.data, sorted(doc.spans.items()), sorted(doc.key_spans.items()),
                              doc.files, sorted(doc.texts.items())))
    shown["matrix"] = json.dumps(found.matrix.to_dict(), sort_keys=True)
    return shown


def same_reports(args: list[str]) -> dict[str, Any]:
    """For each ``PATH=DATE``: serial and two-core reports, and how many results came from children."""
    out: dict[str, Any] = {}
    for arg in args:
        path, day = arg.rsplit("=", 1)
        today = _dt.date.fromisoformat(day)
        serial = _reports(path, today, 1)
        before = forked.results_from_children()
        parallel = _reports(path, today, 2)
        out[path] = {"serial": serial, "parallel": parallel, "children": forked.results_from_children() - before}
    return out


def _in_child() -> bool:
    return forked.in_child()


def _dies_in_child(work: Callable[[], Any], how: str) -> Callable[[], Any]:
    """``work``, except that in a forked child it fails as ``how`` says."""
    def failing(*args: Any) -> Any:
        if _in_child():
            if how == "signal":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "exit":
                os._exit(3)
            if how == "exception":
                raise RuntimeError("failed in the child")
            if how == "unpicklable":
                return lambda: None
            if how == "noise":
                print("child on stdout")
                print("child on stderr", file=sys.stderr)
                os.write(1, b"child on fd 1\n")
                os.write(2, b"child on fd 2\n")
        return work(*args)
    return failing


def failing_rules(args: list[str]) -> dict[str, Any]:
    """The report with each rule of the worker failing there as ``how``; and the serial report."""
    from segverify import load
    from segverify.analysis import analyse
    from segverify.outputs import RENDERERS
    from segverify.policy import check

    how, path, day = args
    today = _dt.date.fromisoformat(day)
    topology = load(path)
    serial = RENDERERS["json"](analyse(topology, today=today, jobs=1).report)
    for rule in check.IN_WORKER:
        check.CHECKS[rule] = _dies_in_child(check.CHECKS[rule], how)  # type: ignore[assignment]
    before = forked.results_from_children()
    parallel = RENDERERS["json"](analyse(topology, today=today, jobs=2).report)
    return {"serial": serial, "parallel": parallel, "children": forked.results_from_children() - before,
            "zombies": _children()}


def _stops_after_one(work: Callable[..., Any], how: str) -> Callable[..., Any]:
    """``work``, a generator, except that in a forked child it gives one item and then fails as ``how`` says."""
    def failing(*args: Any) -> Any:
        items = work(*args)
        if _in_child():
            yield next(items)
            _dies_in_child(lambda: None, how)()
        yield from items
    return failing


def failing_read(args: list[str]) -> dict[str, Any]:
    """A directory read with the worker's parse failing as ``how``, and read serially."""
    from segverify import readahead
    from segverify.reader import load_document

    how, path = args
    forked.use_jobs(1)
    serial = load_document(path)
    if how.startswith("midway-"):
        readahead._parse = _stops_after_one(readahead._parse, how[len("midway-"):])  # type: ignore[assignment]
    else:
        readahead._parse = _dies_in_child(readahead._parse, how)  # type: ignore[assignment]
    forked.use_jobs(2)
    before = forked.results_from_children()
    parallel = load_document(path)
    return {"same": repr(serial) == repr(parallel), "files": len(serial.files),
            "children": forked.results_from_children() - before, "zombies": _children()}


def read_errors(args: list[str]) -> dict[str, Any]:
    """The message each way of reading gives for ``path`` (a directory with broken files)."""
    from segverify.errors import InputError
    from segverify.reader import load_document

    said = {}
    for jobs in (1, 2):
        forked.use_jobs(jobs)
        try:
            load_document(args[0])
            said[str(jobs)] = "read without an error"
        except InputError as exc:
            said[str(jobs)] = str(exc)
    return said


def _children() -> list[int]:
    """This process's children (a zombie is one not waited for)."""
    found = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as listing:
            found += [int(pid) for pid in listing.read().split()]
    return found


def forked_work(args: list[str]) -> dict[str, Any]:
    """``Forked`` on its own: where the result came from, what the child printed, what is left over."""
    how = args[0]
    parent = os.getpid()
    with forked.Forked(_dies_in_child(os.getpid, how)) as child:
        started = child.started
        got = child.result()
    return {"started": started, "from_child": got != parent and not callable(got), "ran_in_child": child.ran_in_child,
            "here": got == parent, "zombies": _children()}


def abandoned(args: list[str]) -> dict[str, Any]:
    """A child whose result is not wanted (an error here): stopped and waited for."""
    import time

    try:
        with forked.Forked(lambda: time.sleep(600)) as child:
            started = child.started
            raise KeyError("an error here while the child works")
    except KeyError:
        pass
    return {"started": started, "zombies": _children()}


def nested(args: list[str]) -> dict[str, Any]:
    """A Forked inside a forked child runs its work there (no grandchild); one child at a time here."""
    def inner() -> tuple[bool, int]:
        with forked.Forked(os.getpid) as grandchild:
            return grandchild.started, grandchild.result()

    with forked.Forked(inner) as child:
        with forked.Forked(os.getpid) as second:
            second_started = second.started
            second.result()
        (grand_started, grand_pid), from_child = child.result(), child.ran_in_child
    return {"grandchild_started": grand_started, "second_started": second_started, "from_child": from_child,
            "zombies": _children()}


def shared_jobs(args: list[str]) -> dict[str, Any]:
    """``forked.shared`` over 16 jobs (``how``: the child fails in its first job, or not): the
    results in order, which process made each, and what is left over. Each process's first job
    waits until the other has started one, so both take some whatever the scheduling."""
    import select

    how = args[0]
    to_parent, to_child = os.pipe(), os.pipe()
    made: list[int] = []  # this process's jobs so far (the child has its own copy)

    def job(i: int) -> Callable[[], tuple[int, int]]:
        def run() -> tuple[int, int]:
            child = _in_child()
            if not made:
                mine, theirs = (to_parent, to_child) if child else (to_child, to_parent)
                os.write(mine[1], b"x")
                select.select([theirs[0]], [], [], 60)
            if child and how != "plain":
                _dies_in_child(lambda: None, how)()
            made.append(i)
            return i * i, os.getpid()
        return run

    results = forked.shared([job(i) for i in range(16)])
    here = sorted(i for i, (_, pid) in enumerate(results) if pid == os.getpid())
    return {"values": [value for value, _ in results], "here": here,
            "children": forked.results_from_children(), "zombies": _children()}


def pictures(args: list[str]) -> dict[str, Any]:
    """A large network's atlas pages and report drawn in one process and on two cores: SHA-256 of each
    page and of the report, and how many results came from a child; with ``failing-HOW`` every
    picture fails in the child as HOW says (the pictures are then drawn here)."""
    import hashlib

    from segverify import load
    from segverify.analysis import analyse
    from segverify.viz import atlas, heatmap, map as segmap
    from segverify.viz.report import render_report

    how, path, day, out = args
    found = analyse(load(path), today=_dt.date.fromisoformat(day), jobs=1)
    if how.startswith("failing-"):
        segmap.render = _dies_in_child(segmap.render, how[len("failing-"):])  # type: ignore[assignment]
        heatmap.render = _dies_in_child(heatmap.render, how[len("failing-"):])  # type: ignore[assignment]
    answer: dict[str, Any] = {}
    for jobs in (1, 2):
        forked.use_jobs(jobs)
        before = forked.results_from_children()
        pages = atlas.write_atlas(found.topology, found.network, found.report, str(Path(out) / f"jobs{jobs}" / "map.png"))
        html = render_report(found.topology, found.report, found.matrix, lang="en", network=found.network)
        answer[str(jobs)] = {"pages": [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in pages],
                             "names": [Path(p).name for p in pages],
                             "report": hashlib.sha256(html.encode()).hexdigest(),
                             "children": forked.results_from_children() - before}
    answer["zombies"] = _children()
    return answer


def main() -> None:
    what, args = sys.argv[1], sys.argv[2:]
    answers: dict[str, Callable[[list[str]], Any]] = {
        "same-reports": same_reports, "failing-rules": failing_rules, "failing-read": failing_read,
        "read-errors": read_errors, "forked": forked_work, "abandoned": abandoned, "nested": nested,
        "pictures": pictures, "shared": shared_jobs,
    }
    result = answers[what](args)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
