"""Test helpers every app reuses: a small world of regions, units, users and projects."""

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from guatu.accounts.models import Role, User
from guatu.org.models import Chain, Region, Unit
from guatu.org.services import regions_load
from guatu.projects.models import Project, Stage
from guatu.projects.services import project_create

_seq = itertools.count(1)


@dataclass
class World:
    city: Region
    counties: dict[str, Region]
    enterprise: Unit
    other_enterprise: Unit
    department: Unit
    other_department: Unit
    chain: Chain
    users: dict[str, User] = field(default_factory=dict)


def make_user(role: str, *, username: str | None = None, password: str = "Guatu-test-2026", **extra) -> User:
    user = User(username=username or f"{role}{next(_seq)}", role=role, **extra)
    user.set_password(password)
    user.save()
    return user


def make_world() -> World:
    regions = regions_load()
    city = regions[0]
    counties = {r.code: r for r in regions[1:]}
    shuangta, longcheng = counties["211302"], counties["211303"]
    world = World(
        city=city,
        counties=counties,
        enterprise=Unit.objects.create(
            name="朝阳测试实业有限公司", kind=Unit.Kind.ENTERPRISE, region=shuangta
        ),
        other_enterprise=Unit.objects.create(
            name="龙城测试制造有限公司", kind=Unit.Kind.ENTERPRISE, region=longcheng
        ),
        department=Unit.objects.create(name="市发展和改革委员会", kind=Unit.Kind.DEPARTMENT, region=city),
        other_department=Unit.objects.create(name="市商务局", kind=Unit.Kind.DEPARTMENT, region=city),
        chain=Chain.objects.create(name="新能源", order=1),
    )
    world.users = {
        "city": make_user(Role.CITY_ADMIN, username="t_city"),
        "leader": make_user(Role.LEADER, username="t_leader"),
        "county": make_user(Role.COUNTY, username="t_shuangta", region=shuangta),
        "other_county": make_user(Role.COUNTY, username="t_longcheng", region=longcheng),
        "department": make_user(Role.DEPARTMENT, username="t_fagai", unit=world.department, region=city),
        "enterprise": make_user(Role.ENTERPRISE, username="t_qiye", unit=world.enterprise, region=shuangta),
        "steward": make_user(Role.STEWARD, username="t_guanjia", region=shuangta),
        "sysadmin": make_user(Role.SYSADMIN, username="t_sysadmin"),
        "secadmin": make_user(Role.SECADMIN, username="t_secadmin"),
        "auditor": make_user(Role.AUDITOR, username="t_auditor"),
    }
    return world


def project_code(region_code: str = "211302", n: int | None = None, year: int = 2026) -> str:
    return f"{year}-{region_code}-44-01-{(n if n is not None else next(_seq)):06d}"


def make_project(
    world: World, *, actor=None, region: Region | None = None, stage: str = "planning", **data
) -> Project:
    region = region or world.counties["211302"]
    values = {
        "code": project_code(region.code),
        "name": f"测试项目{next(_seq)}",
        "enterprise": world.enterprise,
        "region": region,
        "chain": world.chain,
        "kind": "industry",
        "build_type": "new",
        "total_investment": Decimal("12000"),
        "annual_planned_investment": Decimal("5000"),
        "stage": Stage.objects.get(code=stage),
    }
    values.update(data)
    return project_create(actor=actor, data=values)
