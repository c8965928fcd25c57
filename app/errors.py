"""Errors a user can cause. The CLI prints them as one line and exits 2; nothing is half-written."""


class HarnessError(Exception):
    """A user-facing problem: bad input, unknown run, wrong run state."""


class InputError(HarnessError):
    """Invalid topic, sources, decision or option."""


class RunNotFound(HarnessError):
    pass


class NotWaiting(HarnessError):
    """A decision was sent to a run that is not waiting at the approval gate."""


class AlreadyDecided(NotWaiting):
    """Another caller already answered this approval."""


class PolicyViolation(HarnessError):
    """An action the policy forbids (a write outside the allowed roots, a disabled tool)."""


class StoreUnavailable(HarnessError):
    """The store failed under a run (full disk, lost database connection). What was saved before
    stays saved: the run continues with `harness resume` once the store is usable again."""


class RunStopped(HarnessError):
    """The process was interrupted (Ctrl-C) while a run was moving; it is saved and resumable."""

    def __init__(self, run_id: str):
        super().__init__(
            f"interrupted: run {run_id} is saved; continue it with: harness resume {run_id[:8]}"
        )
        self.run_id = run_id


class WriteDeferred(Exception):
    """A side effect could not be carried out now for a reason that can pass (full disk,
    read-only file system). The step is not failed: the run stays resumable at that step."""


class StaleDecision(AlreadyDecided):
    """A decision bound to a gate (interrupt id, draft hash) that is no longer the one waiting."""


class AnswerRefused(AlreadyDecided, ValueError):
    """The approval gate refused an answer another one beat to it. A ValueError too: LangGraph
    servers pass ValueError messages on to the client, and hide other exceptions' text."""
