"""One piece of work in a forked copy of this process while this process does another: two cores.

A compiled network is hundreds of megabytes of model objects, spans and CUDD nodes. A child made
with ``fork`` shares all of it copy-on-write and starts at once, with nothing sent to it; only its
result comes back, pickled through a pipe. This is not a pool: one child, one job, started and
collected by the code that needs it.

The answer never depends on the child. When it cannot give its result — no ``fork`` on this
platform, a thread running here (a child forked from a threaded process may inherit a lock held
forever), a forked child itself, an exception there, a signal that killed it, a result that does
not pickle — :meth:`Forked.result` runs the work here, so it is only later, never different or lost.
The child writes nothing to the terminal (its standard streams are ``/dev/null``, its progress off),
dies with its parent, and is always waited for, so no zombie stays behind.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from types import TracebackType
from typing import Callable, Generic, Iterable, Iterator, NoReturn, Sequence, TypeVar

Result = TypeVar("Result")

_IN_CHILD = False  # this process is a forked child: its work runs here, it forks no further
_ALLOWED = True  # a fan-out worker turns forking off: the fan-out already uses every core
_RUNNING = 0  # children of this process not yet waited for: at most one at a time
_FROM_CHILDREN = 0  # results that came from a child (tests read it: the worker really ran)


def allow(allowed: bool) -> None:
    """Whether this process may fork workers (off in fan-out workers, see :mod:`segverify.fanout`)."""
    global _ALLOWED
    _ALLOWED = allowed


def in_child() -> bool:
    """This process is a forked worker."""
    return _IN_CHILD


def results_from_children() -> int:
    """How many :meth:`Forked.result` calls of this process returned a child's result."""
    return _FROM_CHILDREN


def can_fork() -> bool:
    return (_ALLOWED and not _IN_CHILD and _RUNNING == 0 and hasattr(os, "fork")
            and threading.active_count() == 1)


JOBS_VARIABLE = "SEGVERIFY_JOBS"


def jobs_from_environment() -> int | None:
    """``SEGVERIFY_JOBS``: the processes one network's check may use (1: this one only); None if unset."""
    value = os.environ.get(JOBS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        from .errors import EnvironmentProblem

        raise EnvironmentProblem(f"{JOBS_VARIABLE} must be a whole number of processes, 1 or more (not {value!r})")
    return int(value)


_JOBS: int | None = None  # what the command line chose (check --jobs); None: SEGVERIFY_JOBS, else the size decides


def chosen_jobs() -> int | None:
    return _JOBS


def use_jobs(jobs: int | None) -> None:
    """The processes one network's work may use in this process from now on (1: no worker)."""
    global _JOBS
    _JOBS = jobs


def wanted(worth_it: bool, jobs: int | None = None) -> bool:
    """Whether to start a worker: ``jobs`` if given, else the command line's choice, else
    ``SEGVERIFY_JOBS``; 1 means no, 2 or more yes. With none of them, yes when the caller finds
    the work ``worth_it`` (its size) and there is a second core."""
    if jobs is None:
        jobs = _JOBS if _JOBS is not None else jobs_from_environment()
    if jobs is None:
        return worth_it and cores() >= 2
    return jobs >= 2


def resident_bytes() -> int:
    """This process's resident memory now (Linux); its peak elsewhere on POSIX; 0 if unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _Child:
    """A forked child writing into a pipe, and what it takes to stop it and wait for it."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._pipe: int | None = None

    @property
    def started(self) -> bool:
        return self._pid is not None

    def _spawn(self, produce: Callable[[int], None]) -> None:
        """Fork a child that runs ``produce(pipe)``; here, keep the pipe's reading end."""
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written twice
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        parent = os.getpid()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory for another process, a process limit: the work runs here
            os.close(read)
            os.close(write)
            return
        if pid == 0:
            _run_child(produce, read, write, parent)
        global _RUNNING
        os.close(write)
        self._pid, self._pipe = pid, read
        _RUNNING += 1

    def _wait(self) -> int | None:
        """Wait for the child (it has closed the pipe, or been killed); its exit code."""
        global _RUNNING
        assert self._pid is not None
        pid, self._pid = self._pid, None
        _RUNNING -= 1
        while True:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # already waited for (a SIGCHLD handler that reaps)
                return None
            except InterruptedError:  # pragma: no cover - PEP 475 retries waitpid itself
                continue
            return os.waitstatus_to_exitcode(status)

    def _kill(self) -> None:
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Stop a child whose result is no longer wanted, and wait for it."""
        self._kill()
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._pid is not None:
            self._wait()


class Forked(_Child, Generic[Result]):
    """``work()`` started in a forked child; :meth:`result` is what it returned, computed here if need be.

    Use it as a context manager: leaving the block (an exception here, an interrupt) stops and
    waits for a child whose result was not collected. ``fork`` False: the work runs here anyway."""

    def __init__(self, work: Callable[[], Result], fork: bool = True) -> None:
        super().__init__()
        self._work = work
        self.ran_in_child = False  # the last result() came from the child
        if fork and can_fork():
            self._spawn(lambda pipe: _write_all(pipe, pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)))

    def __enter__(self) -> Forked[Result]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def result(self) -> Result:
        """The child's result; the work done here when the child gave none."""
        data = self._collect()
        if data is not None:
            try:
                value: Result = pickle.loads(data)
            except Exception:  # noqa: BLE001 - anything unreadable means: compute it here
                pass
            else:
                _count_from_child()
                self.ran_in_child = True
                return value
        self.ran_in_child = False
        return self._work()

    def _collect(self) -> bytes | None:
        """Everything the child wrote, if it then exited normally; None otherwise."""
        if self._pid is None or self._pipe is None:
            return None
        chunks = []
        try:
            while True:
                chunk = os.read(self._pipe, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._pipe)
            self._pipe = None
            status = self._wait()
        return b"".join(chunks) if status == 0 else None


def shared(jobs: Sequence[Callable[[], Result]], fork: bool = True) -> list[Result]:
    """Independent jobs' results in their order, made by this process and a forked child at once (pages
    of an atlas, pictures of a report). Each process takes the next job not yet taken, so the two
    finish together whatever the jobs cost. Each job must give the same result wherever it runs; the
    jobs a failed child took are made here (see :class:`Forked`)."""
    if not (fork and len(jobs) > 1 and can_fork()) or len(jobs) * _TOKEN > _PIPE_HOLDS:
        return [job() for job in jobs]
    # The jobs' numbers wait in a pipe that both processes read from: a read of one number takes it
    # whole, for one process only (the pipe is read under its lock); an empty pipe means no more.
    read, write = os.pipe()
    try:
        os.write(write, b"".join(i.to_bytes(_TOKEN, "big") for i in range(len(jobs))))
    finally:
        os.close(write)
    os.set_blocking(read, False)

    def taken() -> Iterator[int]:
        while len(token := os.read(read, _TOKEN)) == _TOKEN:
            yield int.from_bytes(token, "big")

    try:
        with Forked(lambda: {i: jobs[i]() for i in taken()}) as worker:
            made = {i: jobs[i]() for i in taken()}
            made.update(worker.result())
    finally:
        os.close(read)
    return [made[i] if i in made else job() for i, job in enumerate(jobs)]


_TOKEN = 4  # bytes of one job's number in the pipe
_PIPE_HOLDS = 1 << 16  # what a pipe takes without a reader (Linux's default): a longer list runs here


class ForkedItems(_Child, Generic[Result]):
    """``work()``'s items, made one after the other in a forked child and taken here in the same
    order as each is ready (:meth:`next`), while the child makes the next ones.

    A thread here drains the pipe as the child writes, so the child never waits for this process.
    :meth:`next` returns None when no more items come: all were taken, or the child failed or was
    killed on the way; the caller computes what it did not get (each item taken is whole). ``fork``
    False, or no fork possible: the items are made here, when asked for."""

    _FRAME = 8  # each item: its pickle's length (8 bytes, big-endian), then the pickle

    def __init__(self, work: Callable[[], Iterable[Result]], fork: bool = True) -> None:
        super().__init__()
        self._here: Iterator[Result] | None = None
        self._buffer = bytearray()
        self._ended = False
        self._arrived = threading.Condition()
        self._drain: threading.Thread | None = None
        if fork and can_fork():
            self._spawn(lambda pipe: _write_items(pipe, work()))
        if self._pipe is None:
            self._here = iter(work())
        else:
            self._drain = threading.Thread(target=self._drain_pipe, args=(self._pipe,), daemon=True,
                                           name="segverify-forked-items")
            self._drain.start()

    def __enter__(self) -> ForkedItems[Result]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _drain_pipe(self, pipe: int) -> None:
        while True:
            try:
                chunk = os.read(pipe, 1 << 20)
            except OSError:
                chunk = b""
            with self._arrived:
                if chunk:
                    self._buffer += chunk
                else:
                    self._ended = True
                self._arrived.notify()
            if not chunk:
                return

    def next(self) -> Result | None:
        """The next item, waiting for it; None when there are no more."""
        if self._here is not None:
            return next(self._here, None)
        if self._drain is None:
            return None
        with self._arrived:
            while True:
                size = int.from_bytes(self._buffer[:self._FRAME], "big") if len(self._buffer) >= self._FRAME else -1
                if size >= 0 and len(self._buffer) >= self._FRAME + size:
                    data = bytes(self._buffer[self._FRAME:self._FRAME + size])
                    del self._buffer[:self._FRAME + size]
                    break
                if self._ended:
                    self._finish()
                    return None
                self._arrived.wait()
        try:
            item: Result = pickle.loads(data)
        except Exception:  # noqa: BLE001 - unreadable: the caller computes the rest
            self.close()
            return None
        _count_from_child()
        return item

    def _finish(self) -> None:
        """The pipe is closed: wait for the thread and the child."""
        if self._drain is not None:
            self._drain.join()
            self._drain = None
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._pid is not None:
            self._wait()

    def close(self) -> None:
        self._kill()  # its end of the pipe closes: the thread sees the end and returns
        if self._drain is not None:
            self._drain.join()
            self._drain = None
        super().close()


def _count_from_child() -> None:
    global _FROM_CHILDREN
    _FROM_CHILDREN += 1


def _write_all(pipe: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(pipe, view):]


def _write_items(pipe: int, items: Iterable[object]) -> None:
    for item in items:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(pipe, len(data).to_bytes(ForkedItems._FRAME, "big") + data)


def _run_child(produce: Callable[[int], None], read: int, write: int, parent: int) -> NoReturn:
    """The child: write what ``produce`` makes into ``write``, and end without any exit handler
    (they belong to the parent: its atexit functions, its buffered output, pytest's)."""
    global _IN_CHILD
    _IN_CHILD = True
    status = 1
    try:
        os.close(read)
        _die_with_parent(parent)
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        os.close(quiet)
        from .progress import configure

        configure(False)
        produce(write)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent computes it instead; nothing to report here
        pass
    finally:
        os._exit(status)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this child when its parent dies (a parent killed outright cannot
    stop it). Elsewhere the child ends when it finds the pipe closed."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
