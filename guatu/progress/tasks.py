"""Background work of the progress app (django-tasks)."""

from django.db import transaction


def schedule_recompute(*, project_id: int) -> None:
    """Recompute the project's warning light after the current transaction commits.

    Called by every write that changes a light's inputs (reports, approvals, milestones).
    """
    transaction.on_commit(lambda: None)  # replaced by the warnings engine
