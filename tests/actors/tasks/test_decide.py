"""The task manager's rules, as pure functions: state + command -> events or a rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from actors.agents.skills import validators
from actors.tasks import decide
from actors.tasks.decide import Rejection, TaskState
from events.commands import (
    CancelTask,
    CompleteTask,
    FailTask,
    ReportProgress,
    StartTask,
    SubmitTask,
)
from events.types import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)

VALIDATORS = validators(Scopes(NetworkScope.parse(None), CodeScope.parse(None, Path.cwd())))
AGENTS = {"echo": ["osint-agent", "security-agent"], "summarize": ["reporting-agent"]}


def created(max_attempts: int = 3) -> TaskState:
    events = decide.submit(
        "task-1",
        SubmitTask(task_type="echo", parameters={"n": 1}, max_attempts=max_attempts),
        AGENTS,
        VALIDATORS,
    )
    assert not isinstance(events, Rejection)
    state = decide.evolve(None, events[0])
    assert state is not None
    return state


def apply(state: TaskState | None, decision) -> TaskState:
    assert not isinstance(decision, Rejection), decision
    for event in decision:
        state = decide.evolve(state, event)
    assert state is not None
    return state


def running(agent: str = "osint-agent", attempt: int = 1) -> TaskState:
    state = created()
    if attempt > 1:
        state.attempt = attempt - 1
    return apply(
        state, decide.start(state, StartTask(task_id="task-1", agent_id=agent, attempt=attempt))
    )


# -- submit ----------------------------------------------------------------------------


def test_submit_creates_a_queued_task_for_every_agent_of_its_type():
    decision = decide.submit(
        "task-1",
        SubmitTask(task_type="echo", parameters={"x": 1}, priority="high"),
        AGENTS,
        VALIDATORS,
    )

    assert decision == [
        TaskCreated(
            task_id="task-1",
            task_type="echo",
            parameters={"x": 1},
            priority="high",
            assigned_agents=AGENTS["echo"],
        )
    ]
    state = decide.evolve(None, decision[0])
    assert (state.status, state.version, state.attempt, state.agent_id) == ("queued", 1, 0, None)


def test_submit_of_an_unknown_type_is_rejected_naming_the_available_types():
    decision = decide.submit("task-1", SubmitTask(task_type="scan"), AGENTS, VALIDATORS)

    assert isinstance(decision, Rejection)
    assert decision.code == "INVALID_PARAMETER"
    assert "echo" in decision.message and "summarize" in decision.message
    assert decision.details == {
        "parameter": "task_type",
        "provided": "scan",
        "expected": ["echo", "summarize"],
    }


def test_submit_of_a_type_with_no_agents_is_rejected():
    decision = decide.submit("task-1", SubmitTask(task_type="echo"), {"echo": []}, VALIDATORS)

    assert isinstance(decision, Rejection) and decision.code == "INVALID_PARAMETER"


@pytest.mark.parametrize("attempts", [0, 11])
def test_submit_with_attempts_out_of_bounds_is_rejected(attempts):
    decision = decide.submit(
        "task-1", SubmitTask(task_type="echo", max_attempts=attempts), AGENTS, VALIDATORS
    )

    assert isinstance(decision, Rejection) and decision.code == "INVALID_PARAMETER"
    assert decision.details["parameter"] == "max_attempts"


def test_submit_with_parameters_the_skill_refuses_is_rejected_naming_the_parameter():
    decision = decide.submit(
        "task-1", SubmitTask(task_type="echo", parameters={"steps": "x"}), AGENTS, VALIDATORS
    )

    assert isinstance(decision, Rejection)
    assert decision.code == "INVALID_PARAMETER"
    assert decision.details == {"parameter": "steps"}


def test_submit_of_a_type_without_validator_accepts_any_parameters():
    decision = decide.submit(
        "task-1", SubmitTask(task_type="summarize", parameters={"a": []}), AGENTS, VALIDATORS
    )

    assert not isinstance(decision, Rejection)


# -- cancel ----------------------------------------------------------------------------


def test_cancel_of_a_queued_task_cancels_it_with_no_agent():
    decision = decide.cancel(created(), CancelTask(task_id="task-1"))

    assert decision == [TaskCancelled(task_id="task-1", agent_id=None)]


def test_cancel_of_a_running_task_names_the_agent_to_stop():
    state = running("security-agent")
    decision = decide.cancel(state, CancelTask(task_id="task-1", reason="user"))

    assert decision == [TaskCancelled(task_id="task-1", reason="user", agent_id="security-agent")]
    assert apply(state, decision).status == "cancelled"


def test_cancel_of_an_unknown_task_is_not_found():
    decision = decide.cancel(None, CancelTask(task_id="task-9"))

    assert isinstance(decision, Rejection) and decision.code == "NOT_FOUND"


@pytest.mark.parametrize(
    "finish",
    [
        TaskCompleted(task_id="task-1", agent_id="osint-agent", result={}),
        TaskFailed(task_id="task-1", reason="timeout"),
        TaskCancelled(task_id="task-1"),
    ],
    ids=["completed", "failed", "cancelled"],
)
def test_cancel_of_a_finished_task_is_a_conflict(finish):
    state = apply(running(), [finish])

    decision = decide.cancel(state, CancelTask(task_id="task-1"))

    assert isinstance(decision, Rejection)
    assert decision.code == "CONFLICT"
    assert decision.details == {"task_id": "task-1", "status": state.status}


# -- start -----------------------------------------------------------------------------


def test_start_claims_the_next_attempt_for_the_agent():
    state = created()

    decision = decide.start(state, StartTask(task_id="task-1", agent_id="osint-agent", attempt=1))

    assert decision == [
        TaskStarted(task_id="task-1", agent_id="osint-agent", attempt=1, task_type="echo")
    ]
    state = apply(state, decision)
    assert (state.status, state.agent_id, state.attempt, state.version) == (
        "in_progress",
        "osint-agent",
        1,
        2,
    )


@pytest.mark.parametrize("attempt", [0, 2])
def test_start_with_the_wrong_attempt_is_a_conflict(attempt):
    decision = decide.start(
        created(), StartTask(task_id="task-1", agent_id="osint-agent", attempt=attempt)
    )

    assert isinstance(decision, Rejection) and decision.code == "CONFLICT"


def test_second_claim_of_the_same_attempt_is_a_conflict():
    state = running("osint-agent")

    decision = decide.start(
        state, StartTask(task_id="task-1", agent_id="security-agent", attempt=1)
    )

    assert isinstance(decision, Rejection) and decision.code == "CONFLICT"


def test_start_of_an_unknown_task_is_not_found():
    decision = decide.start(None, StartTask(task_id="task-9", agent_id="a", attempt=1))

    assert isinstance(decision, Rejection) and decision.code == "NOT_FOUND"


# -- reports ---------------------------------------------------------------------------


def test_progress_from_the_running_agent_is_recorded_and_capped_below_100():
    state = running("osint-agent")

    decision = decide.report(
        state,
        ReportProgress(
            task_id="task-1", agent_id="osint-agent", attempt=1, progress=150, message="m"
        ),
    )

    assert decision == [
        TaskProgressed(task_id="task-1", agent_id="osint-agent", progress=99, message="m")
    ]
    low = decide.report(
        state, ReportProgress(task_id="task-1", agent_id="osint-agent", attempt=1, progress=-3)
    )
    assert low[0].progress == 0
    assert apply(state, decision).status == "in_progress"


def test_completion_from_the_running_agent_completes_the_task():
    state = running("osint-agent")

    decision = decide.report(
        state,
        CompleteTask(task_id="task-1", agent_id="osint-agent", attempt=1, result={"ok": True}),
    )

    assert decision == [
        TaskCompleted(task_id="task-1", agent_id="osint-agent", result={"ok": True})
    ]
    assert apply(state, decision).status == "completed"


def test_failure_from_the_running_agent_fails_the_task():
    state = running("osint-agent")

    decision = decide.report(
        state,
        FailTask(
            task_id="task-1", agent_id="osint-agent", attempt=1, reason="timeout", error="slow"
        ),
    )

    assert decision == [
        TaskFailed(task_id="task-1", agent_id="osint-agent", reason="timeout", error="slow")
    ]
    assert apply(state, decision).status == "failed"


@pytest.mark.parametrize(
    "report",
    [
        ReportProgress(task_id="task-1", agent_id="security-agent", attempt=1, progress=5),
        CompleteTask(task_id="task-1", agent_id="security-agent", attempt=1, result={}),
        FailTask(task_id="task-1", agent_id="security-agent", attempt=1, reason="error"),
        CompleteTask(task_id="task-1", agent_id="osint-agent", attempt=2, result={}),
    ],
    ids=[
        "progress-other-agent",
        "complete-other-agent",
        "fail-other-agent",
        "complete-other-attempt",
    ],
)
def test_report_from_anyone_but_the_running_attempt_is_a_conflict(report):
    decision = decide.report(running("osint-agent"), report)

    assert isinstance(decision, Rejection) and decision.code == "CONFLICT"


def test_report_on_a_queued_task_is_a_conflict():
    decision = decide.report(
        created(), CompleteTask(task_id="task-1", agent_id="osint-agent", attempt=1, result={})
    )

    assert isinstance(decision, Rejection) and decision.code == "CONFLICT"


def test_report_after_the_task_finished_is_a_conflict():
    state = running("osint-agent")
    state = apply(state, decide.cancel(state, CancelTask(task_id="task-1")))

    decision = decide.report(
        state, CompleteTask(task_id="task-1", agent_id="osint-agent", attempt=1, result={})
    )

    assert isinstance(decision, Rejection) and decision.code == "CONFLICT"


def test_report_on_an_unknown_task_is_not_found():
    decision = decide.report(
        None, CompleteTask(task_id="task-9", agent_id="a", attempt=1, result={})
    )

    assert isinstance(decision, Rejection) and decision.code == "NOT_FOUND"


# -- lost agents -----------------------------------------------------------------------


def test_lost_agent_requeues_its_task_for_the_next_attempt():
    state = running("osint-agent")

    decision = decide.agent_lost(state, "agent crashed")

    assert decision == [
        TaskRequeued(task_id="task-1", attempt=1, reason="agent crashed", agent_id="osint-agent")
    ]
    state = apply(state, decision)
    assert (state.status, state.agent_id, state.attempt) == ("queued", None, 1)
    next_try = decide.start(
        state, StartTask(task_id="task-1", agent_id="security-agent", attempt=2)
    )
    assert not isinstance(next_try, Rejection)


def test_lost_agent_requeues_until_max_attempts_then_fails_the_task():
    state = created(max_attempts=3)
    outcomes = []
    for attempt in (1, 2, 3):
        state = apply(
            state,
            decide.start(
                state, StartTask(task_id="task-1", agent_id=f"agent-{attempt}", attempt=attempt)
            ),
        )
        lost = decide.agent_lost(state, "agent crashed")
        outcomes.append(type(lost[0]))
        state = apply(state, lost)

    assert outcomes == [TaskRequeued, TaskRequeued, TaskFailed]
    assert state.status == "failed"
    assert lost == [
        TaskFailed(
            task_id="task-1", agent_id="agent-3", reason="max_attempts", error="agent crashed"
        )
    ]


@pytest.mark.parametrize("status", ["queued", "completed", "failed", "cancelled"])
def test_lost_agent_changes_nothing_for_a_task_not_in_progress(status):
    state = created()
    state.status = status

    assert decide.agent_lost(state, "agent crashed") == []


def test_every_event_advances_the_state_version():
    state = created()
    versions = [state.version]
    for decision in (
        decide.start(state, StartTask(task_id="task-1", agent_id="a", attempt=1)),
        [TaskProgressed(task_id="task-1", agent_id="a", progress=50)],
        [TaskCompleted(task_id="task-1", agent_id="a", result={})],
    ):
        state = apply(state, decision)
        versions.append(state.version)

    assert versions == [1, 2, 3, 4]


def test_event_for_an_unknown_task_has_no_state():
    assert decide.evolve(None, TaskStarted(task_id="task-9", agent_id="a")) is None
