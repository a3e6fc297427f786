"""Background work of the progress app (django-tasks)."""

import threading

from django.db import transaction
from django_tasks import task

_pending = threading.local()


@task()
def recompute_warnings_task(project_ids: list[int] | None) -> dict[str, int]:
    """Recompute the lights of these projects (None: all); the answer is the count of each level."""
    from guatu.progress.services import warnings_recompute

    return warnings_recompute(project_ids=project_ids)


def schedule_recompute(*, project_id: int) -> None:
    """Recompute the project's warning light after the current transaction commits.

    Called by every write that changes a light's inputs (reports, approvals, milestones). Within one
    transaction the projects are gathered and queued as one task: an Excel import of a county's
    month recomputes its projects in one go, not once per row.
    """
    connection = transaction.get_connection()
    batch: _Batch | None = getattr(_pending, "batch", None)
    if batch is not None and connection.in_atomic_block and batch.registered(connection):
        batch.ids.add(project_id)
        return
    batch = _pending.batch = _Batch({project_id})
    transaction.on_commit(batch.flush)


class _Batch:
    """The projects one transaction asked to recompute, queued once when it commits."""

    def __init__(self, ids: set[int]):
        self.ids = ids

    def registered(self, connection) -> bool:
        # A rolled-back transaction (or savepoint) drops its callbacks; then a new batch is needed.
        return any(
            getattr(callback, "__self__", None) is self for _s, callback, _r in connection.run_on_commit
        )

    def flush(self) -> None:
        if getattr(_pending, "batch", None) is self:
            _pending.batch = None
        recompute_warnings_task.enqueue(project_ids=sorted(self.ids))
