"""Hand-built leads for the tests of the leads part of the attraction app."""

import datetime as dt
import itertools
from decimal import Decimal

from guatu.attraction.models import ChainLink, Lead, LinkPosition
from guatu.attraction.services import lead_advance, lead_create
from guatu.org.models import Unit

TODAY = dt.date(2026, 6, 30)
STAGES = ("clue", "negotiating", "framework", "signed", "registered")
_seq = itertools.count(1)


def link(world, name: str = "动力电池", position: str = LinkPosition.MIDSTREAM, chain=None) -> ChainLink:
    return ChainLink.objects.get_or_create(
        chain=chain or world.chain, name=name, defaults={"position": position}
    )[0]


def county_unit(world, code: str = "211302") -> Unit:
    region = world.counties[code]
    return Unit.objects.get_or_create(
        name=f"{region.name}人民政府", defaults={"kind": Unit.Kind.COUNTY, "region": region}
    )[0]


def lead_data(world, **data) -> dict:
    values = {
        "name": f"测试招商项目{next(_seq)}",
        "investor": "北京测试新能源有限公司",
        "investor_region": "北京市",
        "chain": world.chain,
        "amount": Decimal("20000"),
        "attracting_unit": world.department,
        "region": world.counties["211302"],
        "industry_fit": "passed",
    }
    values.update(data)
    return values


def make_lead(
    world, *, actor=None, stage: str = "clue", start: dt.date = dt.date(2026, 1, 5), **data
) -> Lead:
    """A lead entered at 线索 on `start`, moved one stage a week up to `stage` (at most 注册落户)."""
    lead = lead_create(actor=actor, data=lead_data(world, **data), on=start, today=TODAY)
    day = start
    for code in STAGES[1 : STAGES.index(stage) + 1]:
        day += dt.timedelta(days=7)
        lead = lead_advance(
            actor=actor, lead_id=lead.pk, version=lead.version, to_stage=code, on=day, today=TODAY
        )
    return lead
