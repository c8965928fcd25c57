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
