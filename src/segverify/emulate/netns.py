"""Network namespaces: create, enter, and always remove.

Every namespace a run creates is named ``segv-<pid>-<tag>-<suffix>``: the fixed prefix lets
:func:`cleanup` find leftovers without touching anything else on the machine, and the pid lets it
leave alone the namespaces of a run that is still alive. Interfaces, bridges and nftables rulesets
are only ever created *inside* those namespaces (veth pairs are born directly in their target
namespaces), so deleting the namespaces removes everything a run made.

Namespaces are entered with ``setns(2)`` on the calling thread only; the thread always returns to
its original namespace before the context manager exits. Sockets opened while inside keep
belonging to that namespace, which is how one process sends and receives in all of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import secrets
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import EnvironmentProblem, Interrupted, ToolFailed

PREFIX = "segv-"
NETNS_DIR = Path("/var/run/netns")
_NAME = re.compile(r"^segv-(?P<pid>\d+)-(?P<tag>[0-9a-f]+)-[a-z0-9]+$")
CLONE_NEWNET = 0x40000000
# Where the tools live on Debian-like systems when PATH lacks the sbin directories.
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")

_libc: ctypes.CDLL | None = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def tool(name: str) -> str | None:
    """The path of an executable, also looking in the sbin directories."""
    found = shutil.which(name)
    if found:
        return found
    for d in _SBIN:
        candidate = os.path.join(d, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def check_environment() -> None:
    """Raise :class:`EnvironmentProblem` naming everything the emulation lacks."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root privileges (network namespaces and nftables need them; run as root)")
    if tool("ip") is None:
        missing.append("the 'ip' command (install iproute2)")
    if tool("nft") is None:
        missing.append("the 'nft' command (install nftables)")
    if not Path("/proc/self/ns/net").exists():
        missing.append("network namespace support in the kernel")
    if missing:
        raise EnvironmentProblem("segverify emulate needs " + "; ".join(missing))


def new_run_tag() -> str:
    """The unique prefix of one run's namespaces."""
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(2)}-"


def list_namespaces() -> list[str]:
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_ip(args: Sequence[str], batch: Iterable[str] | None = None, netns: str | None = None) -> None:
    """Run ``ip`` (``-batch -`` when lines are given); raise with its message on failure."""
    ip = tool("ip")
    if ip is None:
        raise EnvironmentProblem("the 'ip' command is missing (install iproute2)")
    cmd = [ip]
    if netns is not None:
        cmd += ["-n", netns]
    text = None
    if batch is not None:
        cmd += ["-batch", "-"]
        text = "".join(line + "\n" for line in batch)
    cmd += list(args)
    proc = subprocess.run(cmd, input=text, capture_output=True, text=True)
    check_interrupted()
    if proc.returncode != 0:
        raise ToolFailed(" ".join(cmd), proc.stderr or proc.stdout)


def delete_namespaces(names: Iterable[str]) -> list[str]:
    """Delete the named namespaces (ours only); return those removed."""
    names = [n for n in names if n.startswith(PREFIX) and (NETNS_DIR / n).exists()]
    if not names:
        return []
    ip = tool("ip")
    removed: list[str] = []
    if ip is not None:
        text = "".join(f"netns delete {n}\n" for n in names)
        subprocess.run([ip, "-force", "-batch", "-"], input=text, capture_output=True, text=True)
    for n in names:
        if not (NETNS_DIR / n).exists():
            removed.append(n)
    return removed


def cleanup(force: bool = False) -> list[str]:
    """Remove namespaces left behind by earlier runs; return their names.

    Only names with the segverify prefix are considered, and those of a run whose process is
    still alive are kept unless ``force``.
    """
    check_environment()
    stale = []
    for name in list_namespaces():
        m = _NAME.match(name)
        if m is None:
            continue
        pid = int(m.group("pid"))
        if force or pid == os.getpid() or not _pid_alive(pid):
            stale.append(name)
    return delete_namespaces(stale)


class Namespace:
    """One network namespace of a run."""

    def __init__(self, name: str) -> None:
        self.name = name

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the body with the calling thread inside this namespace."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            fd = os.open(NETNS_DIR / self.name, os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

    def sysctl(self, settings: Iterable[tuple[str, str]], optional: bool = False) -> None:
        """Write ``net.*`` sysctls of this namespace."""
        with self.entered():
            for key, value in settings:
                path = Path("/proc/sys") / (key if "/" in key else key.replace(".", "/"))
                try:
                    path.write_text(value)
                except FileNotFoundError:
                    if not optional:
                        raise ToolFailed(f"sysctl {key}={value} in {self.name}", "no such setting in this kernel") from None
                except OSError as exc:
                    raise ToolFailed(f"sysctl {key}={value} in {self.name}", exc.strerror or str(exc)) from None
        check_interrupted()

    def exec(self, cmd: Sequence[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a program inside this namespace (setns in the child, no mount tricks needed)."""
        fd = os.open(NETNS_DIR / self.name, os.O_RDONLY)
        try:
            done = subprocess.run(list(cmd), input=input, capture_output=True, text=True,
                                  preexec_fn=_enter_fd(fd), pass_fds=(fd,))
        finally:
            os.close(fd)
        check_interrupted()
        return done


def _enter_fd(fd: int) -> Callable[[], None]:
    def enter() -> None:
        _setns(fd)

    return enter


_pending: list[int] = []  # signals received and not yet acted on
HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def check_interrupted() -> None:
    """Raise :class:`Interrupted` if a signal came since the last check (called between steps of
    the build and probe loops, so the exception starts from ordinary code, never from a handler)."""
    if _pending:
        raise Interrupted(_pending[0])


@contextlib.contextmanager
def signals_flagged() -> Iterator[None]:
    """While namespaces exist, SIGINT/SIGTERM/SIGHUP only set a flag that the loops check.

    Raising from the handler itself loses the signal when it lands where Python ignores
    exceptions (a callback during fork printed it and the run exited 0); a flag cannot be lost.
    A signal that came after the last check is raised on the way out, after cleanup."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        _pending.append(signum)

    _pending.clear()
    saved = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
    check_interrupted()


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP during teardown so a second Ctrl-C cannot cut it short."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
