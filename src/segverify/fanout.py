"""Independent pieces of work, run here, in local worker processes, or on a Dask cluster.

The one way to fan out for every command with many independent jobs (several networks for
``check``, the failure scenarios of ``whatif``):

* ``jobs=1`` and no scheduler: one after the other, in this process;
* ``jobs=N``: N single-threaded local worker processes — a Dask ``LocalCluster`` when the
  ``segverify[distributed]`` extra is installed, else the standard library's process pool;
* ``scheduler=ADDRESS``: the Dask cluster whose scheduler listens there (``tcp://host:8786``).

``shared`` (the topology, the options) goes to each worker once; ``work(shared, item)`` runs per
item and must be a module-level function. Results come back in the order of ``items`` whichever
worker finishes first, so the output never depends on the schedule. An error raised by a job is
raised here, as it was raised there.

``done(n)``, if given, is called here, in the calling process, each time a job has finished (``n``
jobs so far): the one place a counter is drawn. Workers run with progress off, so no worker writes
its own line over another's.
"""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any, Callable, Sequence, TypeVar

from .errors import EnvironmentProblem

Item = TypeVar("Item")
Shared = TypeVar("Shared")
Result = TypeVar("Result")

_SHARED: Any = None  # the process pool's copy of ``shared`` (set by its initializer)


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


Done = Callable[[int], None]


def _ignore(done: int) -> None:
    pass


def fan_out(work: Callable[[Shared, Item], Result], shared: Shared, items: Sequence[Item], jobs: int = 1,
            scheduler: str | None = None, done: Done | None = None) -> list[Result]:
    """``[work(shared, item) for item in items]``, spread over ``jobs`` processes or a cluster."""
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    done = done or _ignore
    if scheduler is None and (jobs == 1 or len(items) <= 1):
        results = []
        for item in items:
            results.append(work(shared, item))
            done(len(results))
        return results
    if dask_available():
        return _on_dask(work, shared, items, jobs, scheduler, done)
    if scheduler is not None:
        raise EnvironmentProblem("--scheduler needs Dask distributed: pip install 'segverify[distributed]'")
    return _on_process_pool(work, shared, items, jobs, done)


def _on_dask(work: Callable[[Shared, Item], Result], shared: Shared, items: Sequence[Item], jobs: int,
             scheduler: str | None, done: Done = _ignore) -> list[Result]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is None:
            # No dashboard, and the scheduler's HTTP endpoint on a free local port: its default,
            # 8787, may be taken (another cluster, a second run), and Dask then warns on the terminal.
            # Our own cluster's logs stay off the user's terminal, errors too: on a loaded machine a
            # worker logs a missed heartbeat as an ERROR and carries on, and a job that really fails
            # raises from gather below, which is what the user sees.
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                                   scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout=10)
            except OSError as exc:
                raise EnvironmentProblem(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            remote = client.scatter(shared, broadcast=True)
            futures = client.map(_call, items, work=work, shared=remote, pure=False)
            for finished, _ in enumerate(as_completed(futures), 1):
                done(finished)
            return list(client.gather(futures))
    finally:
        if cluster is not None:
            cluster.close()


def _call(item: Item, work: Callable[[Shared, Item], Result], shared: Shared) -> Result:
    from .forked import allow
    from .progress import configure

    configure(False)  # a worker never draws on the terminal (a local worker may share it)
    allow(False)  # nor forks workers of its own: the fan-out already uses the cores
    return work(shared, item)


def _on_process_pool(work: Callable[[Shared, Item], Result], shared: Shared, items: Sequence[Item],
                     jobs: int, done: Done = _ignore) -> list[Result]:
    context = multiprocessing.get_context("fork")  # the workers inherit ``shared`` instead of unpickling it
    results: list[Any] = [None] * len(items)
    with context.Pool(jobs, initializer=_keep, initargs=(shared,)) as pool:
        arriving = pool.imap_unordered(_call_shared, [(work, index, item) for index, item in enumerate(items)],
                                       chunksize=max(1, len(items) // (jobs * 4)))
        for finished, (index, result) in enumerate(arriving, 1):
            results[index] = result
            done(finished)
    return results


def _keep(shared: Any) -> None:
    from .forked import allow
    from .progress import configure

    global _SHARED
    _SHARED = shared
    configure(False)  # forked with the parent's progress: only the parent draws
    allow(False)  # the pool already uses the cores: no worker forks workers of its own


def _call_shared(job: tuple[Callable[[Any, Item], Result], int, Item]) -> tuple[int, Result]:
    work, index, item = job
    return index, work(_SHARED, item)
