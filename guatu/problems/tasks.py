"""Background work of the problems app (django-tasks). The daily runs are also commands
(`guatu escalate_overdue`, `guatu notify_due`, `guatu send_digest`) for cron."""

import datetime as dt

from django_tasks import task

# --- problems and the 直通车


@task()
def escalate_overdue_task(date: str | None = None) -> dict[str, int]:
    """The daily climb of overdue problems (see services.escalate_overdue); `date` as YYYY-MM-DD,
    default today. The answer counts the problems that climbed to each rung."""
    from guatu.problems.services import escalate_overdue

    climbed = escalate_overdue(today=dt.date.fromisoformat(date) if date else None)
    counts: dict[str, int] = {}
    for problem in climbed:
        counts[problem.level.code] = counts.get(problem.level.code, 0) + 1
    return counts


# --- stewards, contacts, visits and agency requests

# --- notifications


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@task()
def send_digest_task(date: str | None = None) -> dict[str, int]:
    """The daily digest e-mails (see services.send_digest); `date` as YYYY-MM-DD, default today."""
    from guatu.problems.services import send_digest

    return send_digest(today=_date(date))


@task()
def notify_due_task(date: str | None = None, days: int = 3) -> dict[str, int]:
    """Due-soon and overdue notifications (see services.notify_due); `date` as YYYY-MM-DD."""
    from guatu.problems.services import notify_due

    return notify_due(today=_date(date), days=days)
