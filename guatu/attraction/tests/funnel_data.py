"""Hand-built leads for the funnel tests, with every figure worked out by hand below.

Today is 2026-06-30. 双塔区 (211302): A, B, E, G; 龙城区 (211303): C, D, F, H. Amounts in 万元.

    lead  amount  stage entries (day entered)                                        other
    A     1000    clue 01-10, negotiating 01-20, framework 02-19, signed 03-01,       project at 竣工
                  registered 03-31, started 04-10, in_production 05-10
    B     2000    clue 02-01, negotiating 02-11, framework 03-13, signed 04-02         (chain 光伏)
    C      500    clue 01-05, negotiating 01-25                                        dropped 02-15 (chain 光伏)
    D     4000    clue 2025-11-01, negotiating 2025-12-01, framework 01-10,            project 在建
                  signed 02-01, registered 03-01, started 05-01
    E      300    signed 05-01 (imported at 正式签约), registered 06-01
    F      800    clue 2025-03-01
    G      100    clue 06-01
    H      600    clue 2025-06-01 … registered 2025-12-01, started 03-01              project 达产达效

2026, reached (cumulative: the earliest entry into the stage or any later one, in 2026):
    clue A B C E G = 5 (3900)     negotiating A B C E = 4 (3800)   framework A B D E = 4 (7300)
    signed A B D E = 4 (7300)     registered A D E = 3 (5300)      started A D H = 3 (5600)
    in_production A = 1 (1000)    dropped: C at negotiating.
Days in stage, stays that ended in 2026:
    clue A10 B10 C20 → median 10, mean 13.3      negotiating A30 B30 D40 → 30, 33.3
    framework A10 B20 D22 → 20, 17.3             signed A30 D28 E31 → 30, 29.7
    registered A10 D61 H90 → 61, 53.7            started A30 → 30, 30       in_production none.
Rates: landing 3/4 (A D E of A B D E); start-completion 2/3 (A completed, H at capacity; D not);
    production 2/3 (A by the lead, H by the project); at capacity 1 (H).
"""

import datetime as dt
from decimal import Decimal

from guatu.attraction.models import Lead, LeadStage, LeadStageChange
from guatu.core.testing import World, make_project
from guatu.org.models import Chain

D = dt.date
TODAY = D(2026, 6, 30)
SHUANGTA, LONGCHENG = "211302", "211303"


def make_lead(
    world: World,
    name: str,
    *,
    county: str,
    amount,
    entries: list[tuple[str, dt.date]],
    chain: Chain | None = None,
    dropped: dt.date | None = None,
    project_stage: str | None = None,
    project: dict | None = None,
    **fields,
) -> Lead:
    """A lead with its stage entries written as they are recorded (one LeadStageChange each)."""
    stages = {s.code: s for s in LeadStage.objects.all()}
    region = world.counties[county]
    lead = Lead.objects.create(
        name=name,
        investor=f"{name}投资有限公司",
        investor_region="北京市",
        chain=chain or world.chain,
        amount=Decimal(str(amount)),
        attracting_unit=world.department,
        region=region,
        stage=stages[entries[-1][0]],
        dropped_at=dropped,
        drop_reason="投资方战略调整" if dropped else "",
        **fields,
    )
    previous = None
    for code, on in entries:
        LeadStageChange.objects.create(lead=lead, from_stage=previous, to_stage=stages[code], on=on)
        previous = stages[code]
    if project_stage:
        lead.project = make_project(
            world, region=region, stage=project_stage, name=f"{name}项目", chain=lead.chain, **(project or {})
        )
        lead.save(update_fields=["project"])
    return lead


def build(world: World) -> dict[str, Lead]:
    solar = Chain.objects.create(name="光伏", order=2)
    leads = {
        "A": make_lead(
            world,
            "A",
            county=SHUANGTA,
            amount=1000,
            entries=[
                ("clue", D(2026, 1, 10)),
                ("negotiating", D(2026, 1, 20)),
                ("framework", D(2026, 2, 19)),
                ("signed", D(2026, 3, 1)),
                ("registered", D(2026, 3, 31)),
                ("started", D(2026, 4, 10)),
                ("in_production", D(2026, 5, 10)),
            ],
            project_stage="completed",
        ),
        "B": make_lead(
            world,
            "B",
            county=SHUANGTA,
            amount=2000,
            chain=solar,
            entries=[
                ("clue", D(2026, 2, 1)),
                ("negotiating", D(2026, 2, 11)),
                ("framework", D(2026, 3, 13)),
                ("signed", D(2026, 4, 2)),
            ],
        ),
        "C": make_lead(
            world,
            "C",
            county=LONGCHENG,
            amount=500,
            chain=solar,
            entries=[("clue", D(2026, 1, 5)), ("negotiating", D(2026, 1, 25))],
            dropped=D(2026, 2, 15),
        ),
        "D": make_lead(
            world,
            "D",
            county=LONGCHENG,
            amount=4000,
            entries=[
                ("clue", D(2025, 11, 1)),
                ("negotiating", D(2025, 12, 1)),
                ("framework", D(2026, 1, 10)),
                ("signed", D(2026, 2, 1)),
                ("registered", D(2026, 3, 1)),
                ("started", D(2026, 5, 1)),
            ],
            project_stage="under_construction",
        ),
        "E": make_lead(
            world,
            "E",
            county=SHUANGTA,
            amount=300,
            entries=[("signed", D(2026, 5, 1)), ("registered", D(2026, 6, 1))],
        ),
        "F": make_lead(world, "F", county=LONGCHENG, amount=800, entries=[("clue", D(2025, 3, 1))]),
        "G": make_lead(world, "G", county=SHUANGTA, amount=100, entries=[("clue", D(2026, 6, 1))]),
        "H": make_lead(
            world,
            "H",
            county=LONGCHENG,
            amount=600,
            entries=[
                ("clue", D(2025, 6, 1)),
                ("negotiating", D(2025, 7, 1)),
                ("framework", D(2025, 8, 1)),
                ("signed", D(2025, 9, 1)),
                ("registered", D(2025, 12, 1)),
                ("started", D(2026, 3, 1)),
            ],
            project_stage="at_capacity",
        ),
    }
    return leads
