"""Hand-built project facts for the targets tests (plain functions, importable by any test module)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from guatu.core.testing import make_project
from guatu.progress.models import MonthlyReport, ReportStatus
from guatu.projects.models import Milestone, Stage, StageChange
from guatu.targets.rollups import refresh_projects


def project(world, *, region=None, stage="planning", **data):
    region = region or world.counties["211302"]
    return make_project(world, region=region, stage=stage, **data)


def milestone(p, kind: str, day: dt.date) -> Milestone:
    return Milestone.objects.create(project=p, kind=kind, actual_date=day)


def entered(p, stage: str, day: dt.date) -> StageChange:
    """Record that the project entered `stage` on `day` (noon, so the date is the same in any zone)."""
    change = StageChange.objects.create(project=p, from_stage=p.stage, to_stage=Stage.objects.get(code=stage))
    at = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12))
    StageChange.objects.filter(pk=change.pk).update(at=at)
    refresh_projects([p.pk])  # the update bypasses the signals that keep the rollups
    return change


def report(p, month: dt.date, investment, status: str = "submitted") -> MonthlyReport:
    return MonthlyReport.objects.create(
        project=p,
        region=p.region,
        month=month.replace(day=1),
        investment_done=Decimal(str(investment)),
        percent_complete=Decimal("10"),
        status=ReportStatus.objects.get(code=status),
    )
