"""Shared data for the steward, visit and agency tests: small hand-built projects with known answers."""

import datetime as dt
from decimal import Decimal

from guatu.core.testing import make_project

TODAY = dt.date(2026, 3, 10)  # a Tuesday


def big_project(world, *, total="12000", steward=None, region=None, **data):
    """A project at `total` 万元 in 双塔区 (or `region`), with its approvals, steward as given."""
    return make_project(
        world,
        region=region,
        total_investment=Decimal(total),
        annual_planned_investment=Decimal("0"),
        steward=steward,
        **data,
    )


def open_approval(project):
    """One approval of the project that is not approved yet."""
    approval = project.approvals.select_related("kind").order_by("kind__order", "pk").first()
    assert approval is not None and approval.status != "approved"
    return approval
