"""Which agent the scheduler picks: capability, a free slot, priority, then least loaded."""

from __future__ import annotations

from actors.scheduler import Slot, choose_agent


def slot(
    agent_id: str,
    *,
    types=("echo",),
    limit: int = 5,
    priority: str = "normal",
    running: int = 0,
    up: bool = True,
) -> Slot:
    return Slot(
        agent_id=agent_id,
        agent_type=agent_id.split("-")[0],
        task_types=frozenset(types),
        max_concurrent_tasks=limit,
        priority=priority,
        up=up,
        running={f"{agent_id}-task-{n}" for n in range(running)},
    )


def test_only_an_agent_that_runs_the_task_type_is_chosen():
    slots = [slot("osint-1", types=("scan",), priority="critical"), slot("report-1")]

    assert choose_agent(slots, "echo").agent_id == "report-1"
    assert choose_agent(slots, "scan").agent_id == "osint-1"
    assert choose_agent(slots, "translate") is None


def test_an_agent_without_a_free_slot_is_passed_over():
    slots = [slot("security-1", priority="high", limit=2, running=2), slot("osint-1")]

    assert choose_agent(slots, "echo").agent_id == "osint-1"


def test_an_agent_that_is_down_is_passed_over():
    slots = [slot("security-1", priority="high", up=False), slot("osint-1")]

    assert choose_agent(slots, "echo").agent_id == "osint-1"


def test_no_agent_when_every_one_is_full_or_down():
    slots = [slot("osint-1", limit=1, running=1), slot("osint-2", up=False)]

    assert choose_agent(slots, "echo") is None
    assert choose_agent([], "echo") is None


def test_the_agent_with_the_highest_priority_wins_even_if_busier():
    slots = [
        slot("low-1", priority="low"),
        slot("normal-1", priority="normal", running=3),
        slot("critical-1", priority="critical", running=4),
        slot("high-1", priority="high"),
    ]

    assert choose_agent(slots, "echo").agent_id == "critical-1"
    assert choose_agent(slots[:2], "echo").agent_id == "normal-1"
    assert choose_agent([slots[0], slots[3]], "echo").agent_id == "high-1"


def test_among_equal_priorities_the_least_loaded_share_wins():
    # 2 of 10 slots taken is a lighter load than 1 of 2.
    slots = [
        slot("osint-1", limit=2, running=1),
        slot("osint-2", limit=10, running=2),
        slot("osint-3", limit=5, running=3),
    ]

    assert choose_agent(slots, "echo").agent_id == "osint-2"


def test_ties_go_to_the_first_agent_by_id_whatever_the_order_given():
    slots = [slot("osint-2"), slot("osint-1"), slot("osint-3")]

    assert choose_agent(slots, "echo").agent_id == "osint-1"
    assert choose_agent(reversed(slots), "echo").agent_id == "osint-1"


def test_choice_takes_the_slot_it_is_given_not_a_copy():
    chosen = slot("osint-1")

    assert choose_agent([chosen], "echo") is chosen
