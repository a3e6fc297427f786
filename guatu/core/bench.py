"""`guatu bench`: how fast the platform answers on this machine, at a given population.

Builds (or reuses) a population of generated projects (guatu.demo.scale), then measures, each the
median of `repeat` runs: the dashboard summary through its real view and the same numbers computed
naively from the raw tables (both, their ratio, and whether they agree); the project list page with
two filters, first page and page 1,000 (or the last page when there are fewer); the API list; an
Excel import of 10,000 rows (dry run and commit, the commit rolled back so the population stays as
it was) and the export of the filtered list; the rankings of the county and department schemes;
the bulletin; extraction over 200,000 characters of speech text.

Everything runs in this process through Django's test client, so the times are server times
(middleware, view, queries, rendering), without a network or a web server in between. Goals are
those of the scale issue (N = 100,000 on PostgreSQL); they are reported beside each figure, never
asserted.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.accounts.models import Role, User
from guatu.core import changelog
from guatu.core import xlsx as xlsx_engine
from guatu.core.permissions import restrict
from guatu.org.models import Region
from guatu.progress.models import MonthlyReport, ProjectWarning
from guatu.projects.models import Project
from guatu.targets.metrics import REPORTED_STATUSES, percent, with_events
from guatu.targets.periods import MONTH, QUARTER, YEAR, Period

BENCH_USER = "bench_city"
PER_PAGE = 50
FAR_PAGE = 1000
IMPORT_ROWS = 10_000
SPEECH_CHARS = 200_000
IMPORT_PREFIX = "98-98"  # industry and approval type of the import's codes: none in use otherwise

GOALS = {
    "dashboard_summary_ms": 50,
    "dashboard_speedup": 20,
    "list_page_ms": 60,
    "import_rows_per_s": 5000,
    "bulletin_ms": 3000,
    "extraction_ms": 3000,
}
FIGURES = (
    "projects", "total_investment", "annual_plan", "investment_done", "plan_completion", "red",
    "yellow", "green", "planned_starts", "started", "start_rate",
)  # fmt: skip


class _Rollback(Exception):
    """Raised to leave a transaction.atomic() block rolled back, on purpose."""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def measure(fn: Callable[[], Any], repeat: int) -> tuple[dict, Any]:
    """Run fn `repeat` times: median and every run in ms, and the last result."""
    runs = []
    result = None
    for _run in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return {"median_ms": _ms(statistics.median(runs)), "runs_ms": [_ms(r) for r in runs]}, result


def _goal(figure: dict, *, max_ms: float) -> dict:
    figure["goal_ms"] = max_ms
    figure["met"] = figure["median_ms"] <= max_ms
    return figure


# ---------------------------------------------------------------- population


def generated_count() -> int:
    from guatu.demo.scale import MARK

    return Project.objects.filter(is_demo=True, description__endswith=MARK).count()


def ensure_population(*, projects: int, today: dt.date, seed: int, progress: Callable[[str], None]) -> dict:
    """At least `projects` generated projects: reuse them if they are there, else add the missing."""
    from guatu.demo.scale import generate

    existing = generated_count()
    if existing >= projects:
        progress(f"复用已有的 {existing} 个批量生成项目")
        return {"reused": True, "generated_projects": existing, "added": 0, "seconds": 0.0}
    missing = projects - existing
    progress(f"已有 {existing} 个批量生成项目，追加生成 {missing} 个……")
    started = time.monotonic()
    generate(projects=missing, today=today, seed=seed, progress=progress)
    return {
        "reused": False,
        "generated_projects": existing + missing,
        "added": missing,
        "seconds": round(time.monotonic() - started, 1),
    }


def bench_user() -> User:
    """A city admin the bench reads as (created once, cannot log in with a password)."""
    user = User.objects.filter(username=BENCH_USER).first()
    if user is None:
        user = User(username=BENCH_USER, role=Role.CITY_ADMIN)
        user.set_unusable_password()
        user.save()
    return user


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _get(client: Client, url: str, params: dict | None = None):
    response = client.get(url, params or {})
    if response.status_code != 200:
        raise RuntimeError(
            _("基准测试请求 %(url)s（参数 %(params)s）返回 HTTP %(status)s，应为 200")
            % {"url": url, "params": params or {}, "status": response.status_code}
        )
    return response


# ---------------------------------------------------------------- dashboard: view and naive


def naive_summary(*, user: User, today: dt.date) -> dict:
    """The dashboard summary's figures the straightforward way: for each division and each figure,
    its own count or sum over the projects and reports, no grouping. The reference the view's
    grouped queries must equal, and the cost they are compared with."""
    period = Period.containing(today, YEAR)
    until = min(period.end, today)
    projects = restrict(Project.objects, user, "view")
    lights = restrict(ProjectWarning.objects, user, "view")
    reports = MonthlyReport.objects.filter(status__code__in=REPORTED_STATUSES, month__lte=until)

    def figures(scope: Q) -> dict:
        mine = projects.filter(scope)
        reported = reports.filter(project__in=mine.values("pk"))
        row: dict[str, Any] = {
            "projects": mine.count(),
            "total_investment": mine.aggregate(v=Sum("total_investment"))["v"] or Decimal(0),
            "annual_plan": mine.aggregate(v=Sum("annual_planned_investment"))["v"] or Decimal(0),
            "investment_done": reported.filter(month__gte=period.start.replace(day=1)).aggregate(
                v=Sum("investment_done")
            )["v"]
            or Decimal(0),
        }
        ytd = reported.filter(month__gte=dt.date(period.year, 1, 1)).aggregate(v=Sum("investment_done"))["v"]
        plan = row["annual_plan"] * Decimal(period.last_month) / Decimal(12)
        row["plan_completion"] = percent(ytd or Decimal(0), plan)
        for level in ("red", "yellow", "green"):
            row[level] = lights.filter(project__in=mine.values("pk"), level__code=level).count()
        planned = mine.filter(planned_start__gte=period.start, planned_start__lte=until)
        row["planned_starts"] = planned.count()
        row["started"] = (
            with_events(planned, "started_day")
            .filter(started_day__isnull=False, started_day__lte=today)
            .count()
        )
        row["start_rate"] = percent(Decimal(row["started"]), Decimal(row["planned_starts"]))
        row["investment_done"] = Decimal(row["investment_done"]).quantize(Decimal("0.01"))
        return row

    divisions = Region.objects.filter(level=Region.Level.COUNTY).order_by("code")
    if user.role == Role.COUNTY:
        divisions = divisions.filter(pk=user.region_id)
    return {
        "total": figures(Q()),
        "divisions": {region.code: figures(Q(region=region)) for region in divisions},
    }


def _same(view_value: Any, naive_value: Any) -> bool:
    if view_value is None or naive_value is None:
        return view_value is None and naive_value is None
    return Decimal(str(view_value)) == Decimal(str(naive_value))


def compare_summary(view: dict, naive: dict) -> list[str]:
    """Every figure where the view and the naive recomputation differ, as readable lines."""
    mismatches = []
    pairs = [("合计", view["total"], naive["total"])]
    by_code = {d["code"]: d for d in view["divisions"]}
    for code, row in naive["divisions"].items():
        pairs.append((code, by_code.get(code), row))
    extra = set(by_code) - set(naive["divisions"])
    mismatches += [f"{code}: 视图有该县区，直接计算没有" for code in sorted(extra)]
    for where, shown, computed in pairs:
        if shown is None:
            mismatches.append(f"{where}: 视图没有该县区")
            continue
        for name in FIGURES:
            if not _same(shown.get(name), computed[name]):
                mismatches.append(f"{where} {name}: 视图 {shown.get(name)}，直接计算 {computed[name]}")
    return mismatches


def bench_dashboard(*, client: Client, user: User, today: dt.date, repeat: int) -> dict:
    view_runs, response = measure(lambda: _get(client, "/api/dashboard/summary/"), repeat)
    # The view reads the server's today (its default period is this year): so does the recomputation.
    today = timezone.localdate()
    naive_runs, naive = measure(lambda: naive_summary(user=user, today=today), repeat)
    mismatches = compare_summary(response.json(), naive)
    ratio = naive_runs["median_ms"] / view_runs["median_ms"] if view_runs["median_ms"] else None
    return {
        "view": _goal(view_runs, max_ms=GOALS["dashboard_summary_ms"]),
        "naive": naive_runs,
        "speedup": round(ratio, 3) if ratio is not None else None,
        "speedup_goal": GOALS["dashboard_speedup"],
        "speedup_met": ratio is not None and ratio >= GOALS["dashboard_speedup"],
        "numbers_match": not mismatches,
        "mismatches": mismatches,
    }


# ---------------------------------------------------------------- list pages, API list, export


def list_filters() -> tuple[dict, int]:
    """Two filters, region and stage: the county and stage with the most projects, so the far page
    is as far as the population allows."""
    row = (
        Project.objects.filter(region__level=Region.Level.COUNTY)
        .values("region__code", "stage__code")
        .annotate(n=Count("pk"))
        .order_by("-n", "region__code", "stage__code")
        .first()
    )
    if row is None:
        return {}, 0
    return {"region": row["region__code"], "stage": row["stage__code"]}, row["n"]


def bench_lists(*, client: Client, repeat: int) -> dict:
    from guatu.projects.filters import ProjectFilterSet

    params, _most = list_filters()
    # Counted through the list's own FilterSet: the region filter also takes in the division's parts.
    matching = (
        ProjectFilterSet(QueryDict(urlencode(params)), Project.objects.all()).qs.count() if params else 0
    )
    pages = max(1, math.ceil(matching / PER_PAGE))
    far = min(FAR_PAGE, pages)
    first, _r = measure(lambda: _get(client, "/projects/", {**params, "page": 1}), repeat)
    last, _r = measure(lambda: _get(client, "/projects/", {**params, "page": far}), repeat)
    api, _r = measure(lambda: _get(client, "/api/projects/"), repeat)
    note = None
    if far < FAR_PAGE:
        note = f"筛选结果只有 {pages} 页（每页 {PER_PAGE} 个），以最后一页第 {far} 页代替第 {FAR_PAGE} 页"
    return {
        "filters": params,
        "matching": matching,
        "pages": pages,
        "first_page": _goal(first, max_ms=GOALS["list_page_ms"]),
        "far_page": {
            "page": far,
            "requested": FAR_PAGE,
            "note": note,
            **_goal(last, max_ms=GOALS["list_page_ms"]),
        },
        "api_list_first_page": api,
    }


def bench_export(*, client: Client, params: dict, repeat: int) -> dict:
    from guatu.projects.filters import ProjectFilterSet

    rows = ProjectFilterSet(QueryDict(urlencode(params)), Project.objects.all()).qs.count()
    runs, response = measure(lambda: _get(client, "/projects/export/", params), repeat)
    return {
        "filters": params,
        "rows": rows,
        "bytes": len(response.content),
        **runs,
        "rows_per_s": round(rows / (runs["median_ms"] / 1000)) if runs["median_ms"] else None,
    }


# ---------------------------------------------------------------- import


def import_sheet(rows: int, *, today: dt.date) -> bytes:
    """An .xlsx in the import template's columns: `rows` new projects, copies of existing ones
    (taken in turn) under new codes, so the import creates every row."""
    from guatu.projects.io import NOTES, SHEET_TITLE, _export_row, columns

    year = today.year
    tops: dict[str, int] = {}
    for code in Project.objects.filter(code__contains=f"-{IMPORT_PREFIX}-").values_list("code", flat=True):
        prefix, _sep, serial = code.rpartition("-")
        tops[prefix] = max(tops.get(prefix, 0), int(serial))
    sources = list(
        Project.objects.select_related("enterprise", "region", "chain", "stage").order_by("pk")[
            : min(rows, 2000)
        ]
    )
    if not sources:
        raise RuntimeError(_("数据库中没有项目可供复制，无法构造 %(rows)s 行的导入表") % {"rows": rows})

    def sheet_rows():
        for i in range(rows):
            project = sources[i % len(sources)]
            values = _export_row(project)
            prefix = f"{year}-{project.region.code}-{IMPORT_PREFIX}"
            tops[prefix] = tops.get(prefix, 0) + 1
            values[0] = f"{prefix}-{tops[prefix]:06d}"
            values[1] = f"{project.name}（导入测试{i + 1}）"[:200]
            yield values

    out = io.BytesIO()
    with translation_override():
        xlsx_engine.write_sheet(out, title=SHEET_TITLE, columns=columns(), rows=sheet_rows(), notes=NOTES)
    return out.getvalue()


def translation_override():
    from django.utils import translation

    return translation.override(settings.LANGUAGE_CODE)


def bench_import(
    *, user: User, rows: int, today: dt.date, repeat: int, progress: Callable[[str], None]
) -> dict:
    from guatu.projects.io import import_projects

    progress(f"构造 {rows} 行导入表……")
    data = import_sheet(rows, today=today)
    before = Project.objects.count()
    results: dict[str, Any] = {"rows": rows, "bytes": len(data)}
    for mode, commit in (("dry_run", False), ("commit", True)):
        outcome: dict[str, Any] = {}

        def run(commit: bool = commit, outcome: dict = outcome) -> None:
            token = changelog.current_request_id.set(changelog.new_request_id("import"))
            try:
                with transaction.atomic():
                    result = import_projects(actor=user, path=io.BytesIO(data), commit=commit)
                    outcome.update(created=result.created, errors=len(result.errors or []))
                    if result.errors:
                        outcome["first_errors"] = [str(e) for e in result.errors[:3]]
                    raise _Rollback
            except _Rollback:
                pass
            finally:
                changelog.current_request_id.reset(token)

        progress(f"导入 {rows} 行（{'试运行' if not commit else '写入后回滚'}）……")
        runs, _r = measure(run, repeat)
        results[mode] = {
            **runs,
            **outcome,
            "rows_per_s": round(rows / (runs["median_ms"] / 1000)) if runs["median_ms"] else None,
        }
    results["population_unchanged"] = Project.objects.count() == before
    commit_rate = results["commit"]["rows_per_s"] or 0
    results["goal_rows_per_s"] = GOALS["import_rows_per_s"]
    results["met"] = commit_rate >= GOALS["import_rows_per_s"] and not results["commit"].get("errors")
    return results


# ---------------------------------------------------------------- rankings and bulletin


def _scheme(group: str, period: Period):
    """The active scheme of the group for the period; without one, a copy of the county scheme's
    items (the caller rolls it back)."""
    from guatu.targets.models import SchemeGroup, ScoringScheme
    from guatu.targets.scoring import scheme_create, scheme_for

    scheme = scheme_for(period=period, group=group)
    if scheme is not None:
        return scheme, False
    template = (
        scheme_for(period=period, group=SchemeGroup.COUNTY)
        or ScoringScheme.objects.filter(group=SchemeGroup.COUNTY).order_by("-year", "-version").first()
    )
    if template is None:
        return None, False
    if ScoringScheme.objects.filter(year=period.year, group=group).exists():
        return None, False
    items = [
        {f: getattr(item, f) for f in ("metric", "label", "kind", "weight", "per", "ratio_cap", "cap")}
        for item in template.items.order_by("order")
    ]
    scheme = scheme_create(
        actor=None, year=period.year, group=group, data={"name": f"{period.year}年基准测试方案"}, items=items
    )
    return scheme, True


def bench_rankings(*, today: dt.date, repeat: int, bulletin: bool = True) -> dict:
    from guatu.targets.bulletin import bulletin_content, bulletin_docx
    from guatu.targets.models import SchemeGroup
    from guatu.targets.scoring import rank_units

    month = Period.containing(today, MONTH)
    quarter = Period.containing(today, QUARTER)
    out: dict[str, Any] = {"period": str(month)}
    try:
        with transaction.atomic():
            for group in (SchemeGroup.COUNTY, SchemeGroup.DEPARTMENT):
                scheme, temporary = _scheme(group, month)
                if scheme is None:
                    out[str(group)] = {"skipped": "没有可用的考核方案"}
                    continue
                runs, scores = measure(
                    lambda s=scheme: rank_units(scheme=s, period=month, today=today), repeat
                )
                out[str(group)] = {
                    "scheme": scheme.name,
                    "temporary_scheme": temporary,
                    "units": len(scores),
                    **runs,
                }

            def write_bulletin() -> int:
                return len(bulletin_docx(bulletin_content(user=None, period=quarter, today=today)))

            if bulletin:
                runs, size = measure(write_bulletin, repeat)
                out["bulletin"] = {
                    "period": str(quarter),
                    "bytes": size,
                    **_goal(runs, max_ms=GOALS["bulletin_ms"]),
                }
            else:
                out["bulletin"] = {"period": str(quarter), "skipped": "--no-bulletin"}
            raise _Rollback
    except _Rollback:
        pass
    return out


# ---------------------------------------------------------------- extraction


def bench_extraction(*, chars: int, repeat: int) -> dict:
    from guatu.speeches.extraction import extract
    from guatu.speeches.management.commands.bench_extract import SEED, build_text
    from guatu.speeches.management.commands.extract_eval import load_labelled
    from guatu.speeches.text import read_file

    paragraphs: list[str] = []
    if SEED.is_file():
        paragraphs += [p for p in read_file(str(SEED)).splitlines() if len(p.strip()) > 40]
    paragraphs += [line for doc in load_labelled() for line in doc["text"].splitlines() if line.strip()]
    text = build_text(paragraphs, chars)
    runs, items = measure(lambda: extract(text, year=2024), repeat)
    goal = GOALS["extraction_ms"] * len(text) / SPEECH_CHARS
    return {
        "chars": len(text),
        "items": len(items),
        **_goal(runs, max_ms=round(goal, 1)),
        "chars_per_s": round(len(text) / (runs["median_ms"] / 1000)) if runs["median_ms"] else None,
    }


# ---------------------------------------------------------------- the whole run


def run_bench(
    *,
    projects: int,
    repeat: int = 5,
    seed: int = 1,
    import_rows: int = IMPORT_ROWS,
    import_repeat: int = 1,
    speech_chars: int = SPEECH_CHARS,
    bulletin: bool = True,
    today: dt.date | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict:
    """Every figure in one dict (see the module docstring)."""
    today = today or timezone.localdate()
    started = time.monotonic()
    population = ensure_population(projects=projects, today=today, seed=seed, progress=progress)
    user = bench_user()
    client = _client(user)
    figures: dict[str, Any] = {}

    def done(name: str) -> None:
        # Each section's figures go to stderr as soon as they are known: a long run cut short keeps them.
        progress(f"{name}: {json.dumps(figures[name], ensure_ascii=False, default=str)}")

    progress("仪表盘汇总（视图与直接计算）……")
    figures["dashboard_summary"] = bench_dashboard(client=client, user=user, today=today, repeat=repeat)
    if not figures["dashboard_summary"]["numbers_match"]:
        for line in figures["dashboard_summary"]["mismatches"]:
            progress(f"!!! 数字不一致：{line}")
    done("dashboard_summary")
    progress("项目列表与接口列表……")
    figures["project_list"] = bench_lists(client=client, repeat=repeat)
    done("project_list")
    progress("导出筛选后的列表……")
    figures["export"] = bench_export(client=client, params=figures["project_list"]["filters"], repeat=repeat)
    done("export")
    figures["import"] = bench_import(
        user=user, rows=import_rows, today=today, repeat=import_repeat, progress=progress
    )
    done("import")
    progress("排名与通报……")
    figures["ranking"] = bench_rankings(today=today, repeat=repeat, bulletin=bulletin)
    done("ranking")
    progress("讲话抽取……")
    figures["extraction"] = bench_extraction(chars=speech_chars, repeat=repeat)
    done("extraction")

    lists = figures["project_list"]
    goals = {
        "dashboard_summary_ms": figures["dashboard_summary"]["view"]["met"],
        "dashboard_speedup": figures["dashboard_summary"]["speedup_met"],
        "list_first_page_ms": lists["first_page"]["met"],
        "list_far_page_ms": lists["far_page"]["met"],
        "import_rows_per_s": figures["import"]["met"],
        "bulletin_ms": figures["ranking"].get("bulletin", {}).get("met"),  # None: not measured
        "extraction_ms": figures["extraction"]["met"],
    }
    return {
        "database": {"vendor": connection.vendor, "name": str(settings.DATABASES["default"]["NAME"])},
        "projects": Project.objects.count(),
        "generated_projects": population["generated_projects"],
        "population": population,
        "reports": MonthlyReport.objects.count(),
        "cpu_count": os.cpu_count(),
        "repeat": repeat,
        "today": today.isoformat(),
        "goals_at": "N = 100,000 on PostgreSQL (issue 9)",
        "figures": figures,
        "goals_met": goals,
        "numbers_match": figures["dashboard_summary"]["numbers_match"],
        "seconds": round(time.monotonic() - started, 1),
    }
