"""Leaving the process when the command is done, without taking the interpreter apart.

A checked network is millions of Python objects and BDD handles. At a normal exit the interpreter
frees them one by one and CUDD dereferences every handle: measured 0.4-0.5 s of a 6 s ``check`` of a
1,000-device network, for memory the operating system takes back at once. :func:`leave` does what
exit must still do (the exit handlers, flushing stdout and stderr, the status Python would give)
and then ends the process. With a thread still running it exits normally, so nothing waits on a
thread that is cut off. Only the program's entry point calls it; ``main()`` (tests, embedding) and
the Python API exit as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` gives: None is 0, an int is itself, anything else is printed
    to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def leave(code: object) -> None:
    status = exit_status(code)
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: Python's own exit reports 120
            status = 120
    os._exit(status)
