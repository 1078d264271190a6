"""The node's worker process: jobs run in a process of their own, one that dies is
replaced, and a node's hash-chain walks go through it."""

from __future__ import annotations

import os
import signal

import pytest

from amas.runtime.node import Node
from amas.runtime.worker import Worker
from tests.amas.runtime.worker_jobs import kill_the_worker, pid_of_the_worker


async def test_a_job_runs_in_another_process_which_is_kept_for_the_next() -> None:
    worker = Worker()
    try:
        first = await worker.run(pid_of_the_worker)
        second = await worker.run(pid_of_the_worker)
    finally:
        await worker.close()

    assert first != os.getpid()
    assert second == first


async def test_a_worker_that_died_is_replaced() -> None:
    worker = Worker()
    try:
        before = await worker.run(pid_of_the_worker)
        os.kill(before, signal.SIGKILL)
        after = await worker.run(pid_of_the_worker)  # the broken pool is noticed, then replaced
        with pytest.raises(Exception, match="terminated abruptly"):
            await worker.run(kill_the_worker)  # dies again on the second try: said so
        again = await worker.run(pid_of_the_worker)
    finally:
        await worker.close()

    assert len({before, after, again}) == 3


async def test_the_nodes_walk_of_the_chain_runs_in_its_worker(node: Node, api) -> None:
    assert not node.worker.started  # spawned at the first job, not with the node

    verified = await api.get("/events/verify")

    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    assert node.worker.started
