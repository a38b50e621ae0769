"""Fanning out gives the serial answer: several networks for ``check``, failure scenarios for ``whatif``.

A Dask local cluster of two worker processes (the ``segverify[distributed]`` extra) and the
standard library's process pool must each return exactly what one process computes alone, in the
same order.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import segverify
from conftest import require_environment
from segverify.batch import CheckOptions, check_many, render_many
from segverify.cli import cli
from segverify.errors import InputError
from segverify.failures import whatif
from segverify.fanout import _on_process_pool, dask_available, fan_out
from segverify.outputs.whatif import WHATIF_RENDERERS

ROOT = Path(__file__).parent.parent
NETWORKS = [str(p) for p in sorted((ROOT / "topologies").glob("*.yaml"))] + [
    str(ROOT / "topologies" / "broken" / "seg005-direct-internet-line.yaml"),
    str(ROOT / "tests" / "data" / "whatif-backup-link.yaml")]
OPTIONS = CheckOptions(profile=None, today=_dt.date(2026, 11, 26), strict=False, fail_on="error", fmt="json")
BACKUP = ROOT / "tests" / "data" / "whatif-backup-link.yaml"


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    require_environment("Dask distributed", dask_available(), "pip install 'segverify[distributed]'")
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as local:
        yield local.scheduler_address


def _square(offset: int, item: int) -> int:
    return item * item + offset


def test_fan_out_keeps_order_serially_on_dask_and_in_a_process_pool(cluster: str) -> None:
    items = list(range(40))
    expected = [i * i + 3 for i in items]
    assert fan_out(_square, 3, items) == expected
    assert fan_out(_square, 3, items, scheduler=cluster) == expected
    assert _on_process_pool(_square, 3, items, 2) == expected  # the way without the extra
    seen: list[int] = []
    assert _on_process_pool(_square, 3, items, 2, seen.append) == expected and seen == list(range(1, 41))


def _fails_on_seven(offset: int, item: int) -> int:
    if item == 7:
        raise ValueError(f"job {item} failed")
    return item + offset


def test_a_failing_job_on_our_own_cluster_raises_its_error(cluster: str) -> None:
    """The local cluster segverify starts keeps Dask's logs off the terminal (a missed heartbeat on
    a loaded machine is logged as an error and the worker carries on); what a user must see, a job
    that really failed, still comes back as that job's exception."""
    with pytest.raises(ValueError, match="job 7 failed"):
        fan_out(_fails_on_seven, 0, list(range(12)), jobs=2)


def test_check_on_a_cluster_is_the_serial_check(cluster: str) -> None:
    serial = check_many(NETWORKS, OPTIONS)
    remote = check_many(NETWORKS, OPTIONS, scheduler=cluster)
    assert [r.path for r in remote] == NETWORKS
    assert render_many(remote, "json") == render_many(serial, "json")
    assert {r.exit_code for r in serial} == {0, 1}  # compliant networks and failing ones both in the batch


def test_check_command_with_several_networks_and_jobs(cluster: str) -> None:
    runner = CliRunner()
    args = ["check", *NETWORKS, "--today", "2026-11-26", "--format", "json"]
    serial = runner.invoke(cli, args)
    remote = runner.invoke(cli, [*args, "--scheduler", cluster])
    assert serial.exit_code == remote.exit_code == 1
    assert remote.output == serial.output
    one = runner.invoke(cli, ["check", NETWORKS[0], "--today", "2026-11-26", "--format", "json"])
    first = json.loads(serial.output)["networks"][0]
    assert first["path"] == NETWORKS[0] and first["report"] == json.loads(one.output)


def test_whatif_on_a_cluster_is_the_serial_whatif(cluster: str) -> None:
    topology = segverify.load(str(BACKUP))
    today = _dt.date(2026, 11, 26)
    serial = whatif(topology, k_failures=1, today=today)
    remote = whatif(topology, k_failures=1, today=today, scheduler=cluster)
    assert serial.dangerous, "the backup link opens a path when the firewall fails"
    assert WHATIF_RENDERERS["json"](remote) == WHATIF_RENDERERS["json"](serial)


def test_a_bad_network_on_a_cluster_is_the_same_clear_error(cluster: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes: [\n", encoding="utf-8")
    with pytest.raises(InputError) as here:
        check_many([str(bad)], OPTIONS)
    with pytest.raises(InputError) as there:
        check_many([NETWORKS[0], str(bad)], OPTIONS, scheduler=cluster)
    assert str(there.value) == str(here.value) and "bad.yaml:" in str(here.value)
