"""Hand-built problems for the problems app's tests: known owners, dates, statuses and rungs."""

import datetime as dt
import importlib

from guatu.core.testing import make_project
from guatu.problems.models import EscalationLevel, Problem, ProblemStatus
from guatu.problems.services import problem_create

TODAY = dt.date(2026, 6, 15)
SEED = importlib.import_module("guatu.problems.migrations.0002_seed_flow_ladder")
STATUS_CODES = [row[0] for row in SEED.STATUSES]
ACTIONS = sorted({row[0] for row in SEED.TRANSITIONS})
LEVEL_CODES = [row[0] for row in SEED.LEVELS]


def problem_data(world, **overrides) -> dict:
    data = {
        "project": overrides.pop("project") if "project" in overrides else make_project(world),
        "title": "项目用地征收补偿未谈妥",
        "description": "征收范围内尚有 3 户未签订补偿协议，影响场地平整。",
        "category": "land",
        "owner_unit": world.department,
        "supporting_units": [world.other_department],
        "due_date": TODAY + dt.timedelta(days=30),
        "lead_leader": "副市长刘志刚",
    }
    data.update(overrides)
    return data


def make_problem(
    world,
    *,
    actor=None,
    status: str | None = None,
    level: str | None = None,
    today: dt.date | None = None,
    **overrides,
) -> Problem:
    """A problem made through the service (as the system unless `actor`), then put at `status` and
    `level` directly when asked, as if its history had happened. Made on TODAY, or on its due date
    when that is earlier (an overdue problem was raised before it fell due)."""
    if today is None:
        today = min(TODAY, overrides.get("due_date") or TODAY)
    problem = problem_create(actor=actor, data=problem_data(world, **overrides), today=today)
    changes = {}
    if status is not None:
        changes["status"] = ProblemStatus.objects.get(code=status)
    if level is not None:
        changes["level"] = EscalationLevel.objects.get(code=level)
    if changes:
        Problem.objects.filter(pk=problem.pk).update(**changes)
        problem.refresh_from_db()
    return problem
