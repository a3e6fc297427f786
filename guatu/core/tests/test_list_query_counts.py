"""No query per row: every list page, dashboard and API list asks the database the same number of
times whether it shows a few rows or many.

Each case signs in as the role that uses the list, builds a few rows, warms the page up (caches
of content types, sessions …), counts the queries of one request, adds many more rows, counts
again and asks for the same number. It also checks that the new rows are really on the page, so
that a list which shows nothing cannot pass."""

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guatu.accounts.models import Role
from guatu.core.testing import make_project, make_user
from guatu.demo.scale import generate
from guatu.org.models import Chain, Unit
from guatu.problems import services as problem_services
from guatu.problems.models import Notification
from guatu.problems.tests.problem_helpers import make_problem
from guatu.progress.models import MonthlyReport, ProjectWarning
from guatu.projects.models import ApprovalKind, Project
from guatu.speeches.models import Speech, SpeechDocument
from guatu.speeches.services import task_create
from guatu.speeches.tests.breakdown_helpers import task_data
from guatu.targets.models import Pledge, ScoringScheme, Target
from guatu.targets.services import pledge_create, target_create

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FEW, MANY = 2, 12
_seq = itertools.count(1)


# --- builders: each adds `n` rows the list shows and returns a text of the last one (None when
# the list shows counts rather than names)


def generated(world, n: int) -> str | None:
    """Projects with their reports, approvals, milestones, problems, leads and lights, as
    `guatu generate` writes them (a seed per call, so each call adds different rows)."""
    # Enough at the first call that every section of a dashboard has rows (an empty section skips
    # its prefetches, which is not a cost per row).
    # The seed follows n, not the order tests run in, so a worker's history cannot change the
    # data; a 直通车 problem is always there (the generator may make none at the top rung).
    generate(projects=n * 25, today=TODAY, seed=n)
    make_problem(world, title=f"直通车问题{next(_seq)}", level="direct_line")
    return None


def projects(world, n: int) -> str:
    last = None
    chains = [world.chain, Chain.objects.create(name=f"链{next(_seq)}", order=next(_seq) + 10)]
    for i in range(n):
        last = make_project(
            world, chain=chains[i % 2], stage=("planning", "under_construction")[(n - 1 - i) % 2]
        )
    return last.code


def problems(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = make_problem(world, title=f"问题{next(_seq)}")
    return last.title


def direct_line(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = make_problem(world, title=f"直通车问题{next(_seq)}", level="direct_line")
    return last.title


def stewarded(world, n: int) -> str:
    # The coverage page lists big projects that have no steward yet.
    last = None
    for _i in range(n):
        last = make_project(world, total_investment=Decimal("60000"), steward=None)
    return last.name


def visits(world, n: int) -> str:
    steward = world.users["steward"]
    last = None
    for _i in range(n):
        project = make_project(world, steward=steward)
        last = problem_services.visit_create(
            actor=steward, project_id=project.pk, visited_on=TODAY, met_with=f"张经理{next(_seq)}",
            findings="现场施工正常。", today=TODAY,
        )  # fmt: skip
    return last.met_with


def agency(world, n: int) -> str:
    last = None
    for _i in range(n):
        project = make_project(world, steward=world.users["steward"])
        approval = project.approvals.order_by("kind__order", "pk").first()
        last = problem_services.agency_request(
            actor=world.users["enterprise"], project_id=project.pk, approval_id=approval.pk,
            note="请协助办理", today=TODAY,
        )  # fmt: skip
    return last.project.name


def notifications(world, n: int) -> str:
    title = ""
    for _i in range(n):
        title = f"提醒{next(_seq)}"
        Notification.objects.create(user=world.users["city"], event="assigned", key=title, title=title)
    return title


def leads(world, n: int) -> str:
    from guatu.attraction.tests.leads_helpers import make_lead

    last = None
    for _i in range(n):
        last = make_lead(world)
    return last.name


def targets(world, n: int) -> None:
    for i in range(n):
        region = list(world.counties.values())[i % len(world.counties)]
        target_create(
            actor=None,
            data={"metric": "started", "period": f"{2020 + next(_seq) % 6}Q{i % 4 + 1}", "value": Decimal("5"),
                  "comparator": "ge", "region": region, "unit": None},
        )  # fmt: skip
    return None


def pledges(world, n: int) -> str:
    last = None
    for _i in range(n):
        unit = Unit.objects.create(
            name=f"测试县政府{next(_seq)}", kind=Unit.Kind.COUNTY, region=world.counties["211302"]
        )
        last = pledge_create(
            actor=None,
            data={"unit": unit, "title": "项目建设军令状", "signer": f"签署人{next(_seq)}",
                  "signer_title": "区委书记", "signed_on": dt.date(2026, 2, 7)},
        )  # fmt: skip
    return last.signer


def schemes(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = ScoringScheme.objects.create(
            year=2026, group="county", version=next(_seq), name=f"擂台方案{next(_seq)}", ranking_bonuses=[]
        )
    return last.name


def speeches(world, n: int) -> str:
    last = None
    for _i in range(n):
        text = f"今年全市要新开工项目{next(_seq)}个以上。"
        document = SpeechDocument.objects.create(name="讲话.txt", raw_text=text, sha256=f"{next(_seq):064d}")
        last = Speech.objects.create(
            document=document, title=f"讲话{next(_seq)}", speaker="市长", date=dt.date(2026, 1, 10),
            text=text, end=len(text),
        )  # fmt: skip
    return last.title


def tasks(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = task_create(
            actor=None,
            data=task_data(world, title=f"督办任务{next(_seq)}", deadline=TODAY + dt.timedelta(days=30)),
            today=TODAY,
        )
    return last.title


def users(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = make_user(Role.STEWARD, region=world.counties["211302"])
    return last.username


def changes(world, n: int) -> str:
    # Every project made through the service writes a change record naming its actor.
    last = None
    for _i in range(n):
        actor = make_user(Role.CITY_ADMIN)
        last = make_project(world, actor=actor)
    return last.name


def approval_kinds(world, n: int) -> str:
    last = None
    for _i in range(n):
        code = f"kind{next(_seq)}"
        last = ApprovalKind.objects.create(code=code, name=f"测试手续{code}", order=next(_seq) + 100)
    return last.name


def units(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = Unit.objects.create(name=f"测试企业{next(_seq)}", kind=Unit.Kind.ENTERPRISE, region=world.city)
    return last.name


def chains(world, n: int) -> str:
    last = None
    for _i in range(n):
        last = Chain.objects.create(name=f"测试链{next(_seq)}", order=next(_seq) + 100)
    return last.name


def nothing(world, n: int) -> None:
    return None


@dataclass(frozen=True)
class Case:
    url: str  # a URL name, with "?query" if any
    role: str  # a key of world.users
    build: Callable
    grows: Callable | None = None  # (world) -> number of rows in scope, to prove rows were added
    few: int = FEW  # the first batch: enough that no section of the page is empty

    def path(self) -> str:
        name, _sep, query = self.url.partition("?")
        return reverse(name) + (f"?{query}" if query else "")


def count(model, **filters):
    return lambda world: model.objects.filter(**filters).count()


# Known and left to the targets' rollups: each target's actual is counted from the projects by
# its own query (and its city-wide parent read by another), so the target list asks three
# queries per target. Strict, so the mark has to go when that is fixed.

# Every list page, dashboard and API list, with the role that reads it.
CASES = [
    # pages
    Case("projects:project_list", "city", projects, count(Project)),
    Case("projects:project_list?stage=planning&stage=under_construction&region=211302", "city", projects),
    Case("projects:approval_kind_list", "city", approval_kinds),
    Case("progress:report_list", "city", generated, count(MonthlyReport)),
    Case("progress:warning_list", "city", generated, count(ProjectWarning)),
    Case("targets:target_list", "city", targets, count(Target)),
    Case("targets:pledge_list", "city", pledges, count(Pledge)),
    Case("targets:scheme_list", "city", schemes),
    Case("targets:ranking", "city", generated, count(Project)),
    Case("problems:problem_list", "city", problems),
    Case("problems:direct_line", "city", direct_line),
    Case("problems:steward_coverage", "city", stewarded),
    Case("problems:visit_list", "city", visits),
    Case("problems:agency_list", "city", agency),
    Case("problems:notification_list", "city", notifications),
    Case("attraction:lead_list", "city", leads),
    Case("attraction:funnel", "city", generated, count(Project)),
    Case("speeches:speech_list", "city", speeches),
    Case("speeches:task_list", "city", tasks),
    Case("accounts:user_list", "sysadmin", users),
    Case("core:changelog", "auditor", changes),
    Case("dashboard:war_map", "city", generated, count(Project), few=8),
    # API lists
    Case("api:project-list", "city", projects),
    Case("api:project-list?stage=planning&region=211302", "city", projects),
    Case("api:project-list?cursor=", "city", projects),
    Case("api:region-list", "city", nothing),
    Case("api:unit-list", "city", units),
    Case("api:chain-list", "city", chains),
    Case("api:approval-list", "city", generated, count(Project)),
    Case("api:warning-list", "city", generated, count(ProjectWarning)),
    Case("api:warning-list?cursor=", "city", generated, count(ProjectWarning)),
    Case("api:report-list", "city", generated, count(MonthlyReport)),
    Case("api:target-list", "city", targets, count(Target)),
    Case("api:problem-list", "city", problems),
    Case("api:attraction-lead-list", "city", leads),
    Case("api:speech-list", "city", speeches),
    Case("api:task-list", "city", tasks),
    Case("api:dashboard-summary", "city", generated, count(Project), few=8),
]


def _queries(client, path: str) -> tuple[int, str, list[str]]:
    cache.clear()  # both counts from the same start: a cached figure (the funnel) is not a saving
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries), response.content.decode(), [q["sql"] for q in ctx.captured_queries]


def _id(case) -> str:
    return (case.values[0] if hasattr(case, "values") else case).url


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_queries_do_not_grow_with_the_rows(case, world, client):
    client.force_login(world.users[case.role])
    path = case.path()
    case.build(world, case.few)
    client.get(path)  # warm-up: per-process caches are not the list's cost
    before, _body, sql_before = _queries(client, path)
    rows_before = case.grows(world) if case.grows else None
    marker = case.build(world, MANY)
    after, body, sql_after = _queries(client, path)
    if case.grows:
        assert case.grows(world) > rows_before
    if marker:
        assert marker in body, f"{marker} not on {path}"
    assert after == before, _extra(sql_before, sql_after)


def _extra(before: list[str], after: list[str]) -> str:
    """The statements that ran more often with more rows (numbers blanked out), to find the loop."""
    shapes = Counter(re.sub(r"\d+", "N", sql) for sql in before)
    extra = Counter(re.sub(r"\d+", "N", sql) for sql in after) - shapes
    return "more queries with more rows:\n" + "\n".join(f"{n} × {sql[:300]}" for sql, n in extra.items())
