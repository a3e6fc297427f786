"""Rollups: sums per (unit, region, chain, kind, measure, month) that the war map, the rankings and
the targets read, so that their cost does not grow with the number of projects.

Each project's share (its count, planned investment, stage, light, event months, reported
investment) is computed by the same expressions the metrics use on raw rows (`with_events`), kept in
its ProjectRollup row, and applied to the Rollup rows as a difference whenever one of its inputs is
written: signals on the project, its milestones, stage changes, monthly reports, light and
departments call `refresh_projects` inside the writer's transaction, so the rollups commit or roll
back with the change itself and are never a step behind a committed write. Bulk writers that bypass
signals call `refresh_projects` themselves (or `rebuild` after a bulk load). `guatu rollup_verify`
recomputes every share from the raw tables and names any difference.

Figures that cut a month at today (events up to today, planned starts up to a month ago) take the
whole months from the rollups and subtract the few projects past the cut from ProjectRollup's
indexed event days.
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum

from guatu.targets.models import ProjectRollup, Rollup

STOCK = dt.date(1900, 1, 1)  # the month of measures that are a state, not a flow
AMOUNTS = frozenset({"total_investment", "annual_plan", "investment_done"})  # in hundredths
EVENTS = ("signed_day", "started_day", "completed_day", "in_production_day", "at_capacity_day")
START_GRACE = dt.timedelta(days=30)  # as metrics.START_GRACE_DAYS
BATCH = 2000


def cents(value: Decimal | None) -> int:
    return int((Decimal(value or 0) * 100).to_integral_value(ROUND_HALF_UP))


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


# ------------------------------------------------------------------ shares


@dataclass
class Share:
    facts: dict  # the ProjectRollup fields: where it counts (region, chain, kind, units), event days
    measures: list[list]  # [measure, month iso, value], stored as ProjectRollup.share

    def entries(self) -> Iterator[tuple]:
        """(unit, region, chain, kind, measure, month iso) → value: the rows it adds to."""
        return entries(self.facts, self.measures)


def entries(facts, measures) -> Iterator[tuple]:
    where = (facts["region"], facts["chain"], facts["kind"])
    for unit in (0, *facts["units"]):
        for measure, month, value in measures:
            yield (unit, *where, measure, month), value


def compute(ids: Iterable[int]) -> dict[int, Share]:
    """The share of each existing project among `ids`, from the raw tables, in four queries."""
    from guatu.progress.models import MonthlyReport, ProjectWarning
    from guatu.projects.models import Project
    from guatu.targets.metrics import REPORTED_STATUSES, with_events

    ids = list(ids)
    units: dict[int, list[int]] = defaultdict(list)
    through = Project.departments.through
    for project_id, unit_id in through.objects.filter(project_id__in=ids).values_list(
        "project_id", "unit_id"
    ):
        units[project_id].append(unit_id)
    reported: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for row in (
        MonthlyReport.objects.filter(project_id__in=ids, status__code__in=REPORTED_STATUSES)
        .order_by()
        .values("project_id", "month")
        .annotate(total=Sum("investment_done"))
    ):
        reported[row["project_id"]].append((row["month"], row["total"]))
    lights = dict(ProjectWarning.objects.filter(project_id__in=ids).values_list("project_id", "level__code"))
    shares = {}
    projects = (
        with_events(Project.objects.filter(pk__in=ids), *EVENTS)
        .order_by()
        .values(
            "pk", "region_id", "chain_id", "kind", "stage__code", "planned_start", "planned_completion",
            "total_investment", "annual_planned_investment", *EVENTS,
        )
    )  # fmt: skip
    for p in projects:
        measures: Counter = Counter()
        measures["projects", STOCK] += 1
        measures["total_investment", STOCK] += cents(p["total_investment"])
        measures["annual_plan", STOCK] += cents(p["annual_planned_investment"])
        measures[f"stage:{p['stage__code']}", STOCK] += 1
        if light := lights.get(p["pk"]):
            measures[f"light:{light}", STOCK] += 1
        for event in EVENTS:
            if p[event] is not None:
                measures[event, month_of(p[event])] += 1
        started, completed, planned = p["started_day"], p["completed_day"], p["planned_start"]
        if started is not None and completed is not None:
            # 开复工 subtracts the projects that ended before a period; a completion recorded
            # before the start counts as ending on the start (metrics reads it the same way).
            measures["ended", month_of(max(started, completed))] += 1
        late = False
        if planned is not None:
            measures["planned_start", month_of(planned)] += 1
            if started is not None:
                measures["planned_started", month_of(planned)] += 1
            late = started is None or started > planned + START_GRACE
            if late:
                measures["late_start", month_of(planned)] += 1
        for month, total in reported[p["pk"]]:
            measures["investment_done", month_of(month)] += cents(total)
        facts = {
            "region": p["region_id"],
            "chain": p["chain_id"] or 0,
            "kind": p["kind"] or "",
            "units": sorted(units[p["pk"]]),
            **{event: p[event] for event in EVENTS},
            "planned_start": planned,
            "planned_completion": p["planned_completion"],
            "late_start": late,
        }
        rows = [
            [measure, month.isoformat(), value]
            for (measure, month), value in sorted(measures.items())
            if value
        ]
        shares[p["pk"]] = Share(facts=facts, measures=rows)
    return shares


def _apply(delta: Counter) -> None:
    """Add each difference to its Rollup row, creating the row where needed, keys in one order
    so that concurrent writers never wait on each other in a circle."""
    rows = [(*key, value) for key, value in sorted(delta.items()) if value]
    if not rows:
        return
    table = connection.ops.quote_name(Rollup._meta.db_table)
    sql = (
        f"INSERT INTO {table} (unit, region, chain, kind, measure, month, value) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (measure, unit, month, region, chain, kind) "
        f"DO UPDATE SET value = {table}.value + EXCLUDED.value"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


_FACT_FIELDS = (
    "region",
    "chain",
    "kind",
    "units",
    *EVENTS,
    "planned_start",
    "planned_completion",
    "late_start",
)


def _stored(row: ProjectRollup) -> Iterator[tuple]:
    return entries({f: getattr(row, f) for f in ("region", "chain", "kind", "units")}, row.share)


def refresh_projects(ids: Iterable[int]) -> None:
    """Bring the rollups up to date with these projects' raw rows: their new shares minus the
    shares last applied. Runs in the caller's transaction."""
    ids = sorted({int(pk) for pk in ids if pk is not None})
    if not ids:
        return
    for start in range(0, len(ids), BATCH):
        _refresh(ids[start : start + BATCH])


def _refresh(ids: list[int]) -> None:
    with transaction.atomic():
        # Locking the share rows serialises two writers of the same project on PostgreSQL (the
        # second reads the first's share once it commits). A project without a row yet was made
        # in this very transaction: no other can see it.
        old = {r.project_id: r for r in ProjectRollup.objects.select_for_update().filter(project_id__in=ids)}
        new = compute(ids)
        delta: Counter = Counter()
        for pk in ids:
            if pk in old:
                for key, value in _stored(old[pk]):
                    delta[key] -= value
            if pk in new:
                for key, value in new[pk].entries():
                    delta[key] += value
        _apply(delta)
        gone = [pk for pk in old if pk not in new]
        if gone:
            ProjectRollup.objects.filter(project_id__in=gone).delete()
        rows = [ProjectRollup(project_id=pk, share=s.measures, **s.facts) for pk, s in new.items()]
        ProjectRollup.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["project"], update_fields=[*_FACT_FIELDS, "share"]
        )


def rebuild(*, progress=None) -> int:
    """Recompute every share and every rollup from the raw tables (after a bulk load): the sums
    gathered in memory and written once, not applied project by project."""
    from guatu.projects.models import Project

    with transaction.atomic():
        if connection.vendor == "postgresql":  # writers wait until the rollups are whole again
            with connection.cursor() as cursor:
                for model in (Rollup, ProjectRollup):
                    cursor.execute(f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)}")
        Rollup.objects.all().delete()
        ProjectRollup.objects.all().delete()
        ids = list(Project.objects.order_by("pk").values_list("pk", flat=True))
        totals: Counter = Counter()
        for start in range(0, len(ids), BATCH):
            shares = compute(ids[start : start + BATCH])
            ProjectRollup.objects.bulk_create(
                [ProjectRollup(project_id=pk, share=s.measures, **s.facts) for pk, s in shares.items()],
                batch_size=BATCH,
            )
            for share in shares.values():
                for key, value in share.entries():
                    totals[key] += value
            if progress:
                progress(min(start + BATCH, len(ids)), len(ids))
        Rollup.objects.bulk_create(
            (
                Rollup(
                    unit=u, region=r, chain=c, kind=k, measure=m, month=dt.date.fromisoformat(month), value=v
                )
                for (u, r, c, k, m, month), v in totals.items()
                if v
            ),
            batch_size=5000,
        )
    return len(ids)


def fill_after_migrate(sender, using="default", **kwargs) -> None:
    """An existing database migrated to the rollups has projects and no shares yet: fill them
    once, so the war map does not read empty sums until someone runs rollup_verify --rebuild."""
    from guatu.projects.models import Project

    if not ProjectRollup.objects.using(using).exists() and Project.objects.using(using).exists():
        rebuild()


def differences(*, progress=None) -> list[str]:
    """Every way the stored rollups differ from a recomputation from the raw tables, in words."""
    from guatu.projects.models import Project

    expected: Counter = Counter()
    found: list[str] = []
    ids = list(Project.objects.order_by("pk").values_list("pk", flat=True))
    stored_ids = set(ProjectRollup.objects.values_list("project_id", flat=True))
    for pk in sorted(stored_ids - set(ids)):
        found.append(f"项目 #{pk} 已不存在，但汇总仍计入其份额")
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        shares = compute(chunk)
        stored = {r.project_id: r for r in ProjectRollup.objects.filter(project_id__in=chunk)}
        for pk in chunk:
            share = shares[pk]
            for key, value in share.entries():
                expected[key] += value
            row = stored.get(pk)
            if row is None:
                found.append(f"项目 #{pk} 没有汇总份额")
            elif row.share != share.measures or any(getattr(row, f) != v for f, v in share.facts.items()):
                found.append(f"项目 #{pk} 的汇总份额与原始数据不符")
        if progress:
            progress(min(start + BATCH, len(ids)), len(ids))
    actual: Counter = Counter()
    for row in Rollup.objects.exclude(value=0).values_list(
        "unit", "region", "chain", "kind", "measure", "month", "value"
    ):
        *key, value = row
        key[5] = key[5].isoformat()
        actual[tuple(key)] += value
    for key in sorted(set(expected) | set(actual)):
        if expected[key] != actual[key]:
            unit, region, chain, kind, measure, month, *_ = (*key,)
            found.append(
                f"汇总 {measure} 月份 {month} 地区 #{region} 单位 #{unit} 产业链 #{chain} 类型 {kind or '-'}："
                f"存 {actual[key]}，应为 {expected[key]}"
            )
    return found


# ------------------------------------------------------------------ reads


@dataclass(frozen=True)
class Where:
    """Which projects a rollup read covers: a unit's (0: by region), within these regions (None:
    all), of one chain and kind where given."""

    unit: int = 0
    regions: tuple[int, ...] | None = None
    chain: int | None = None
    kind: str | None = None

    def _narrow(self, qs: QuerySet) -> QuerySet:
        if self.regions is not None:
            qs = qs.filter(region__in=self.regions)
        if self.chain is not None:
            qs = qs.filter(chain=self.chain)
        if self.kind is not None:
            qs = qs.filter(kind=self.kind)
        return qs

    def rows(self, qs: QuerySet) -> QuerySet:
        """The Rollup rows of `qs` it covers."""
        return self._narrow(qs.filter(unit=self.unit))

    def facts(self) -> QuerySet:
        """The ProjectRollup rows (event days) of the projects it covers."""
        qs = ProjectRollup.objects.all()
        return self._narrow(qs.filter(project__departments=self.unit) if self.unit else qs)

    def narrowed(self, regions: Iterable[int]) -> "Where":
        regions = tuple(regions)
        if self.regions is not None:
            regions = tuple(r for r in regions if r in self.regions)
        return replace(self, regions=regions)


def region_and_divisions(region) -> tuple[int, ...]:
    """As scope_projects counts a region: its own projects and its divisions'."""
    from guatu.org.models import Region

    return (region.pk, *Region.objects.filter(parent=region).values_list("pk", flat=True))


def by_region(where: Where, measures: Iterable[str], first: dt.date = STOCK, last: dt.date = STOCK) -> dict:
    """{region id: {measure: sum}} over the months first..last, one query."""
    found: dict[int, Counter] = defaultdict(Counter)
    qs = where.rows(Rollup.objects.filter(measure__in=list(measures), month__gte=first, month__lte=last))
    for region, measure, value in (
        qs.order_by()
        .values("region", "measure")
        .annotate(total=Sum("value"))
        .values_list("region", "measure", "total")
    ):
        found[region][measure] += int(value or 0)
    return found


def amount(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


# ------------------------------------------------------------------ the signals


def _project_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        refresh_projects([instance.pk])


def _child_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        refresh_projects([instance.project_id])


def _departments_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    if reverse:  # a unit's projects changed: pk_set holds the projects (all of them on clear)
        refresh_projects(pk_set or instance.projects.values_list("pk", flat=True))
    else:
        refresh_projects([instance.pk])


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from guatu.progress.models import MonthlyReport, ProjectWarning
    from guatu.projects.models import Milestone, Project, StageChange

    uid = "guatu.rollups"
    post_save.connect(_project_saved, sender=Project, dispatch_uid=f"{uid}.project.save")
    post_delete.connect(_project_saved, sender=Project, dispatch_uid=f"{uid}.project.delete")
    for model in (Milestone, StageChange, MonthlyReport, ProjectWarning):
        post_save.connect(_child_saved, sender=model, dispatch_uid=f"{uid}.{model.__name__}.save")
        post_delete.connect(_child_saved, sender=model, dispatch_uid=f"{uid}.{model.__name__}.delete")
    m2m_changed.connect(_departments_changed, sender=Project.departments.through, dispatch_uid=f"{uid}.m2m")


class ScopeIndex:
    """The rollup reads of many metrics Scopes at once: one query per kind of scope present (by
    region, by unit, everything) for each read, however many scopes there are."""

    def __init__(self, scopes) -> None:
        from guatu.org.models import Region

        scopes = list(scopes)
        self.scopes = {s.key: s for s in scopes}
        self.keys = [s.key for s in scopes]
        self.by_region: dict[int, list] = defaultdict(list)
        self.by_unit: dict[int, list] = defaultdict(list)
        self.everything: list = []
        regions = [s.region.pk for s in scopes if s.region is not None]
        children: dict[int, list[int]] = defaultdict(list)
        if regions:
            for pk, parent in Region.objects.filter(parent__in=regions).values_list("pk", "parent_id"):
                children[parent].append(pk)
        for s in scopes:
            if s.region is not None:
                for pk in (s.region.pk, *children[s.region.pk]):
                    self.by_region[pk].append(s.key)
            elif s.unit is not None:
                self.by_unit[s.unit.pk].append(s.key)
            else:
                self.everything.append(s.key)

    def _gather(
        self, by_region: QuerySet, by_unit: QuerySet, unit: str, group: str, value, spans: dict
    ) -> dict[Hashable, int]:
        """Sum `value` per scope over the rows whose `group` value lies in the scope's own span
        (lo, hi), inclusive: regions' rows from `by_region`, units' from `by_unit` (rows whose
        `unit` is the unit), everything from `by_region` whole. One query per kind of scope,
        grouped by owner and `group`, whatever the spans."""
        found = dict.fromkeys(self.keys, 0)
        parts = []
        if self.by_region:
            rows = by_region.filter(region__in=list(self.by_region)).values("region", group).annotate(v=value)
            parts.append((self.by_region, ((r["region"], r[group], r["v"]) for r in rows)))
        if self.by_unit:
            rows = by_unit.filter(**{f"{unit}__in": list(self.by_unit)}).values(unit, group).annotate(v=value)
            parts.append((self.by_unit, ((r[unit], r[group], r["v"]) for r in rows)))
        if self.everything:
            rows = by_region.values(group).annotate(v=value)
            parts.append(({None: self.everything}, ((None, r[group], r["v"]) for r in rows)))
        for keys, rows in parts:
            for owner, at, v in rows:
                for key in keys[owner]:
                    lo, hi = spans[key]
                    if lo <= at <= hi:
                        found[key] += int(v or 0)
        return found

    def _spans(self, span) -> dict:
        return span if isinstance(span, dict) else dict.fromkeys(self.keys, span)

    def sum(self, measure: str, first=STOCK, last: dt.date = STOCK) -> dict[Hashable, int]:
        """A measure summed over the months first..last (their first days), or its stock. `first`
        may instead map each scope key to its own (first, last)."""
        spans = {k: v for k, v in self._spans((first, last) if not isinstance(first, dict) else first).items()
                 if v[0] <= v[1]}  # fmt: skip
        if not spans:
            return dict.fromkeys(self.keys, 0)
        lo, hi = min(v[0] for v in spans.values()), max(v[1] for v in spans.values())
        qs = Rollup.objects.filter(measure=measure, month__gte=lo, month__lte=hi).order_by()
        found = self._gather(qs.filter(unit=0), qs, "unit", "month", Sum("value"), _all(spans, self.keys))
        return found

    def count(self, field: str, after=None, until: dt.date | None = None, **extra) -> dict[Hashable, int]:
        """Shares whose `field` day lies in (after, until], with `extra` filters; `after` may
        instead map each scope key to its own (after, until)."""
        spans = after if isinstance(after, dict) else dict.fromkeys(self.keys, (after, until))
        spans = {k: (a + dt.timedelta(days=1), u) for k, (a, u) in spans.items() if u > a}
        if not spans:
            return dict.fromkeys(self.keys, 0)
        lo, hi = min(v[0] for v in spans.values()), max(v[1] for v in spans.values())
        qs = ProjectRollup.objects.filter(**{f"{field}__gte": lo, f"{field}__lte": hi}, **extra).order_by()
        return self._gather(qs, qs, "project__departments", field, Count("pk"), _all(spans, self.keys))

    def flow(
        self, measure: str, field: str, first, until: dt.date | None = None, **extra
    ) -> dict[Hashable, int]:
        """As flow_until, for every scope; `first` may instead map each key to (first, until)."""
        spans = first if isinstance(first, dict) else dict.fromkeys(self.keys, (first, until))
        spans = {k: (f, u) for k, (f, u) in spans.items() if u >= f}
        found = self.sum(measure, {k: (f, month_of(u)) for k, (f, u) in spans.items()})
        cut = {k: (u, month_end(u)) for k, (f, u) in spans.items() if u < month_end(u)}
        for key, v in self.count(field, cut, **extra).items():
            found[key] -= v
        return found


def _all(spans: dict, keys) -> dict:
    """Every key's span; a key without one gets a span nothing falls in."""
    empty = (dt.date.max, dt.date.min)
    return {key: spans.get(key, empty) for key in keys}
