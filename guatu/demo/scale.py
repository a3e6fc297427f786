"""Data at scale: `guatu generate` writes a synthetic but realistic population of projects, fast.

The demo campaign (guatu.demo.generator) goes through the services, a few hundred projects in tens
of seconds. This module reuses its catalogue (counties, chains, project templates, names) and its
reference-data loaders, but writes rows in bulk, all in one transaction: COPY on PostgreSQL (from a
writer thread, so the next batch is generated while the database takes in this one), executemany
on SQLite. Rows are streamed per batch of projects, so memory stays flat whatever N is.

Per project: a county of the city, an enterprise (new ones created in bulk), a chain and kind, a
stage from a realistic mix, planned money and dates over `years` ending this year (a project not
yet started may be planned for the months ahead), a point in its county (or the city's box), the
stage history, its 前期手续 (as far along as its backward schedule asks; all done once started),
milestones once started, a monthly report for every month since the start (approved, the latest
sometimes only submitted), about one problem per ten projects and one investment lead per five.
Its light is computed by the warning rules themselves from the facts just generated, the same as
`warnings_recompute` reads back (the tests compare both), without reading the rows again.

Deterministic for a seed and a `today`: one random.Random stream drawn in a fixed order, nothing
read from the clock, codes numbered after the highest in use. Generated rows are demo data
(`is_demo`) and carry MARK at the end of their description (projects, problems) or as their
screening note (leads), so `--reset` finds them, and only them, again. Bulk rows are not users'
changes: one change record summarises each generation (and each reset), so the chain stays whole.
Rows written here bypass the services, so nothing they trigger after commit runs (notifications,
queued recomputes).
"""

import bisect
import datetime as dt
import enum
import json
import math
import queue
import random
import threading
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from guatu.attraction.models import Lead, LeadStage, LeadStageChange
from guatu.core.changelog import record_change
from guatu.demo import attraction_demo, problems_demo
from guatu.demo import catalogue as cat
from guatu.demo import generator as demo
from guatu.demo.approvals import DEPARTMENTS as APPROVAL_DEPARTMENTS
from guatu.demo.approvals import DOCUMENT_NO, NOT_NEEDED
from guatu.demo.reports import PROGRESS_TEXT
from guatu.org.models import Chain, Region, Unit
from guatu.org.services import ReferenceDataMissing
from guatu.problems.models import EscalationLevel, Problem, ProblemStatus, ProblemStep
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportStatus, WarningLevel, WarningRule
from guatu.progress.rules import LateItem, ProjectFacts, Rule, evaluate
from guatu.progress.services import MILESTONE_STAGE
from guatu.progress.services import _phase as warning_phase
from guatu.projects.models import (
    ApprovalKind,
    Milestone,
    MilestoneKind,
    Project,
    ProjectApproval,
    Stage,
    StageChange,
)
from guatu.projects.selectors import (
    MAIN_STRUCTURE_SHARE,
    MILESTONE_ORDER,
    PRODUCTION_AFTER_DAYS,
    build_schedule,
)
from guatu.projects.services import kinds_for_project
from guatu.targets import rollups


class _Row(SimpleNamespace):
    """A row as build_schedule reads it, without a model instance behind it."""


MARK = "〔批量生成〕"
PLACES = (
    "城东", "城西", "城南", "城北", "新城区", "老城区", "东部", "西部", "南部", "北部", "中心城区",
    "工业园区", "东部片区", "西部片区", "北部山区", "南部山区",
)  # fmt: skip
PASSED = "passed"
BULK_FROM = 50_000  # projects: from here on PostgreSQL rebuilds secondary indexes after the load
BATCH = 2000  # projects per batch: rows of one batch are written, then dropped
STAGES = demo.STAGES
STAGE_WEIGHTS = demo.STAGE_WEIGHTS
PRE_START = demo.PRE_START
BUILT = ("started", "under_construction", "completed", "in_production", "at_capacity")
FINISHED = demo.DONE
CLOSED = frozenset({"at_capacity"})
PROBLEM_SHARE = 0.14  # of the projects in PROBLEM_STAGES: about one problem per ten projects
LEAD_SHARE = 0.2  # about one lead per five projects
PROBLEM_STAGES = frozenset({"signed", "preparing", "started", "under_construction", "completed"})
# Problem statuses and rungs: weight by code; a code the tables do not hold is skipped.
PROBLEM_STATUS_WEIGHTS = {
    "reported": 8, "assigned": 8, "accepted": 8, "in_progress": 22, "resolved": 10, "closed": 44,
}  # fmt: skip
PROBLEM_LEVEL_WEIGHTS = {"county": 70, "department": 22, "direct_line": 8}
PROBLEM_ACTIONS = {
    "assigned": "assign", "accepted": "accept", "in_progress": "start", "resolved": "resolve",
    "closed": "verify",
}  # fmt: skip
# Leads that are not a project yet end at one of the stages before 开工.
LEAD_STAGE_WEIGHTS = {"clue": 30, "negotiating": 26, "framework": 20, "signed": 14, "registered": 10}
LEAD_DROP_SHARE = 0.12
RED_SHARE, YELLOW_SHARE = 0.1, 0.15  # building projects behind their time-based plan
LAST_SUBMITTED = 0.35  # share of last month's reports submitted but not yet approved
PROGRESS = 10_000  # print a progress line every this many projects


@dataclass
class GenerateResult:
    counts: Counter = field(default_factory=Counter)  # rows written per table (deleted_* on reset)
    seconds: dict[str, float] = field(default_factory=dict)  # time per phase
    first_project_id: int | None = None


# ---------------------------------------------------------------- writing rows in bulk


class Table:
    """One table's bulk insert: the fields a generator row gives, in order, and a constant for
    every other column (created/updated stamps, defaults), so a column added later with a default
    needs no change here."""

    def __init__(self, model: type[models.Model], names: Sequence[str], *, stamp: dt.datetime):
        self.model = model
        self.names = list(names)
        given = set(self.names)
        fields = [model._meta.get_field(name) for name in self.names]
        self.columns = [f.column for f in fields]
        self.json = [isinstance(f, models.JSONField) for f in fields]
        self.extra: list[Any] = []
        for f in model._meta.concrete_fields:
            if f.name in given or f.attname in given or f.primary_key:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value: Any = stamp
            elif f.has_default() or (f.empty_strings_allowed and not f.null):
                value = f.get_default()
                if isinstance(value, enum.Enum):
                    value = value.value
                if isinstance(f, models.JSONField):
                    value = json.dumps(value, ensure_ascii=False)
            elif f.null:
                value = None
            else:
                raise ReferenceDataMissing(
                    _("%(column)s 没有默认值，批量生成未填写")
                    % {"column": f"{model._meta.db_table}.{f.column}"}
                )
            self.columns.append(f.column)
            self.extra.append(value)
        self.extra_tuple = tuple(self.extra)
        self.has_id = "id" in given


class Sink:
    """Where rows go: PostgreSQL COPY or SQLite executemany, inside the caller's transaction."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.seconds: Counter = Counter()  # time in the database per table: where the time goes

    def begin(self, tables: Iterable["Table"], *, bulk: bool = False) -> None:
        """Before the first row; `bulk`: a load large enough to rebuild indexes for."""

    def finish(self) -> None:
        """After the last row: anything deferred is checked here."""

    def close(self) -> None:
        """Release what the sink holds (idempotent)."""

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        raise NotImplementedError

    def write(self, table: Table, rows: list[tuple]) -> None:
        raise NotImplementedError

    def write_batch(self, writes: list[tuple["Table", list[tuple]]]) -> None:
        for table, rows in writes:
            self.write(table, rows)


class PostgresSink(Sink):
    """COPY per table and batch. Where the role may (a superuser, as a restore would run), the
    per-row foreign-key triggers are switched off for the load (session_replication_role) and every
    foreign key of the new rows is checked afterwards in one set-based query per key instead: the
    per-row checks at commit cost more than the whole load. Unique and check constraints are
    enforced as always. Anything wrong raises, and the transaction rolls back."""

    def __init__(self) -> None:
        super().__init__()
        self.fast = False
        self.tops: dict[type[models.Model], int] = {}
        self.indexes: list[tuple[str, str]] = []  # (name, CREATE INDEX …) dropped for a bulk load
        # The next batch is generated while the database takes in this one: a writer thread COPYs
        # on the transaction's connection (nothing else uses it meanwhile), and ids come from a
        # connection of their own (sequences are not transactional).
        import psycopg  # only here: SQLite needs no driver of PostgreSQL

        self.raw = connection.connection
        params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k not in ("cursor_factory", "context")
        }
        self.id_connection = psycopg.connect(**params, autocommit=True)
        self.queue: queue.Queue = queue.Queue(maxsize=1)  # one batch waiting at most: memory stays flat
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def begin(self, tables, *, bulk=False):
        quote = connection.ops.quote_name
        tables = list(tables)
        with connection.cursor() as cursor:
            # Checks still pending from the reference data loaded just before run now; the load's
            # own checks run per statement, so nothing waits for the commit (nor blocks an index).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                model = table.model
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quote(model._meta.db_table)}")
                self.tops[model] = cursor.fetchone()[0]
            if bulk:
                # As a restore does: secondary indexes are dropped for the load and built again
                # after it (one sort each instead of a million random inserts). Unique and primary
                # keys stay, so every constraint is enforced while loading. The tables are locked
                # until the transaction ends.
                cursor.execute(
                    "SELECT ci.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid "
                    "WHERE c.relname = ANY(%s) AND c.relnamespace = ci.relnamespace "
                    "AND pg_table_is_visible(c.oid) AND NOT i.indisprimary AND NOT i.indisunique "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                    "ORDER BY ci.relname",
                    [[t.model._meta.db_table for t in tables]],
                )
                indexes = cursor.fetchall()
                try:
                    with transaction.atomic():
                        for name, _definition in indexes:
                            cursor.execute(f"DROP INDEX {quote(name)}")
                    self.indexes = indexes
                except DatabaseError:
                    self.indexes = []  # not the tables' owner: load with the indexes in place
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            self.fast = True
        except DatabaseError:
            self.fast = False  # not allowed: the triggers check each row, slower but the same

    def _drain(self) -> None:
        while True:
            writes = self.queue.get()
            try:
                if writes is None:
                    return
                if self.error is None:
                    for table, rows in writes:
                        self.write(table, rows)
            except BaseException as err:  # handed to the main thread, which raises it
                self.error = err
            finally:
                self.queue.task_done()

    def write_batch(self, writes):
        if self.thread is None:
            self.thread = threading.Thread(target=self._drain, name="guatu-generate-copy", daemon=True)
            self.thread.start()
        if self.error is not None:
            raise self.error
        self.queue.put(writes)

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        self.id_connection.close()
        error, self.error = self.error, None
        if error is not None:
            raise error

    def finish(self):
        self.close()
        if self.indexes:
            began = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for _name, definition in self.indexes:
                    cursor.execute(definition)
            self.indexes = []
            self.seconds["index_rebuild"] += time.monotonic() - began
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's default again
        if not self.fast:
            return
        began = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        quote = connection.ops.quote_name
        for model, top in self.tops.items():
            table = quote(model._meta.db_table)
            for f in model._meta.concrete_fields:
                if not isinstance(f, models.ForeignKey) or not f.db_constraint:
                    continue
                parent = f.remote_field.model
                sql = (
                    f"SELECT c.id, c.{quote(f.column)} FROM {table} c WHERE c.id > %s "
                    f"AND c.{quote(f.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                    f"{quote(parent._meta.db_table)} p WHERE p.{quote(f.target_field.column)} = "
                    f"c.{quote(f.column)}) LIMIT 1"
                )
                with connection.cursor() as cursor:
                    cursor.execute(sql, [top])
                    bad = cursor.fetchone()
                if bad:
                    raise IntegrityError(
                        _("%(table)s 第 %(id)s 行的 %(column)s=%(value)s 在 %(parent)s 中不存在")
                        % {
                            "table": model._meta.db_table,
                            "id": bad[0],
                            "column": f.column,
                            "value": bad[1],
                            "parent": parent._meta.db_table,
                        }
                    )
        self.seconds["foreign_key_checks"] += time.monotonic() - began

    def ids(self, model, n):
        if n == 0:
            return []
        rows = self.id_connection.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, n],
        ).fetchall()
        return [row[0] for row in rows]

    def write(self, table, rows):
        if not rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in table.columns)
        sql = f"COPY {quote(table.model._meta.db_table)} ({columns}) FROM STDIN"
        extra = table.extra_tuple
        began = time.monotonic()
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row + extra)
        self.seconds[table.model._meta.db_table] += time.monotonic() - began
        self.counts[table.model._meta.db_table] += len(rows)


class SqliteSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.next_id: dict[str, int] = {}
        self.tz = zoneinfo.ZoneInfo("UTC")

    def ids(self, model, n):
        table = model._meta.db_table
        if table not in self.next_id:
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
                top = cursor.fetchone()[0]
                cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
                if cursor.fetchone():
                    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                    seq = cursor.fetchone()
                    top = max(top, seq[0] if seq else 0)
            self.next_id[table] = top + 1
        first = self.next_id[table]
        self.next_id[table] = first + n
        return list(range(first, first + n))

    def _adapt(self, value):
        # What Django stores on SQLite: UTC datetimes without zone, ISO dates, numbers as text.
        if isinstance(value, dt.datetime):
            return str(value.astimezone(self.tz).replace(tzinfo=None))
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value

    def write(self, table, rows):
        if not rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in table.columns)
        marks = ", ".join("?" for _c in table.columns)
        sql = f"INSERT INTO {quote(table.model._meta.db_table)} ({columns}) VALUES ({marks})"
        adapt = self._adapt
        extra = tuple(adapt(v) for v in table.extra_tuple)
        raw = connection.connection.cursor()
        began = time.monotonic()
        try:
            raw.executemany(sql, [tuple(adapt(v) for v in row) + extra for row in rows])
        finally:
            raw.close()
        self.seconds[table.model._meta.db_table] += time.monotonic() - began
        self.counts[table.model._meta.db_table] += len(rows)


def make_sink() -> Sink:
    if connection.vendor == "postgresql":
        return PostgresSink()
    if connection.vendor == "sqlite":
        return SqliteSink()
    raise ReferenceDataMissing(_("不支持的数据库：%(vendor)s") % {"vendor": connection.vendor})


# ---------------------------------------------------------------- reference data


@dataclass
class Reference:
    city: Region
    counties: dict[str, Region]  # county code → region
    boxes: dict[str, tuple[float, float, float, float]]  # county code → (min_lat, max_lat, min_lon, max_lon)
    own_boxes: set[str]  # counties with an outline of their own (the others use the city's box)
    centres: dict[str, tuple[float, float]]  # county code → map centre (lat, lon), where known
    units: dict[str, int]  # unit name → id (every existing unit, so new names never collide)
    chains: dict[str, int]
    stages: dict[str, int]
    report_statuses: dict[str, int]
    problem_statuses: list[tuple[str, int, bool]]  # (code, id, is_closed) in flow order
    problem_levels: list[tuple[str, int]]  # (code, id) up the ladder
    lead_stages: list[tuple[str, int]]  # (code, id) in funnel order
    approval_kinds: dict[str, list[ApprovalKind]]  # project kind → kinds that apply, in order
    kinds_by_code: dict[str, ApprovalKind]
    edges: list[tuple[int, int]]  # (approval kind, its prerequisite kind)


def ensure_reference() -> Reference:
    """The reference rows the demo loads first (regions, government units, chains), through the
    demo's own idempotent loaders, then everything the generator looks up, read once."""
    if settings.CITY_CODE != cat.CITY_CODE:
        raise ReferenceDataMissing(
            _("批量数据使用朝阳市（%(city)s）的县区和产业链，本系统配置的城市是 %(configured)s")
            % {"city": cat.CITY_CODE, "configured": settings.CITY_CODE}
        )
    loaded = demo.BuildResult()
    city, counties = demo.ensure_regions(result=loaded)
    demo.ensure_units(city=city, counties=counties, result=loaded)
    demo.ensure_chains(result=loaded)
    city.refresh_from_db()
    city_box = (city.min_lat, city.max_lat, city.min_lon, city.max_lon) if city.min_lat is not None else None
    try:
        by_name = demo.map_centres()
    except ReferenceDataMissing:
        by_name = {}
    boxes, centres, own = {}, {}, set()
    for county in cat.COUNTIES:
        region = counties[county.code]
        if region.min_lat is not None and region.max_lat is not None:
            boxes[county.code] = (region.min_lat, region.max_lat, region.min_lon, region.max_lon)
            own.add(county.code)
        elif city_box:
            boxes[county.code] = city_box  # counties without an outline of their own: the city's
        if county.name in by_name:
            centres[county.code] = by_name[county.name]
    kinds = list(ApprovalKind.objects.order_by("order", "code"))
    missing = [s for s in STAGES if not Stage.objects.filter(code=s).exists()]
    if missing:
        raise ReferenceDataMissing(
            _("项目阶段缺少 %(codes)s，请先运行 guatu migrate") % {"codes": ", ".join(missing)}
        )
    return Reference(
        city=city,
        counties=counties,
        boxes=boxes,
        own_boxes=own,
        centres=centres,
        units=dict(Unit.objects.values_list("name", "pk")),
        chains=dict(Chain.objects.values_list("name", "pk")),
        stages=dict(Stage.objects.values_list("code", "pk")),
        report_statuses=dict(ReportStatus.objects.values_list("code", "pk")),
        problem_statuses=list(ProblemStatus.objects.order_by("order").values_list("code", "pk", "is_closed")),
        problem_levels=list(EscalationLevel.objects.order_by("order").values_list("code", "pk")),
        lead_stages=list(LeadStage.objects.order_by("order").values_list("code", "pk")),
        approval_kinds={
            kind: kinds_for_project(kind, kinds) for kind in ("industry", "infrastructure", "livelihood")
        },
        kinds_by_code={k.code: k for k in kinds},
        edges=list(
            ApprovalKind.depends_on.through.objects.values_list("from_approvalkind_id", "to_approvalkind_id")
        ),
    )


# ---------------------------------------------------------------- the generator


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class _Pick:
    """Weighted choice by one uniform draw (rng.choices does more work per call)."""

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = list(items)
        self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def __call__(self, u: float):
        return self.items[min(bisect.bisect_right(self.cum, u * self.total), len(self.items) - 1)]


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


class Generator:
    """Plans and writes the population batch by batch; every draw comes from one seeded stream."""

    def __init__(self, *, ref: Reference, sink: Sink, seed: int, years: int, today: dt.date):
        self.ref, self.sink, self.today, self.years = ref, sink, today, years
        self.rng = random.Random(seed)
        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self.stamp = dt.datetime.combine(today, dt.time(0, 0), tzinfo=self.tz)  # not the clock: deterministic
        self.window_start = dt.date(today.year - years + 1, 1, 1)
        self.jan1, self.dec31 = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
        self.last_month = _shift(today.replace(day=1), -1)  # the month being reported now
        self.due_day = 5
        self.county_pick = _Pick(cat.COUNTIES, [c.weight for c in cat.COUNTIES])
        self.kind_pick = _Pick(list(demo.KIND_WEIGHTS), list(demo.KIND_WEIGHTS.values()))
        self.stage_pick = _Pick(STAGES, list(STAGE_WEIGHTS.values()))
        statuses = [s for s in ref.problem_statuses if s[0] in PROBLEM_STATUS_WEIGHTS] or ref.problem_statuses
        self.problem_status_pick = _Pick(statuses, [PROBLEM_STATUS_WEIGHTS.get(s[0], 1) for s in statuses])
        self.problem_level_pick = _Pick(
            ref.problem_levels, [PROBLEM_LEVEL_WEIGHTS.get(code, 1) for code, _pk in ref.problem_levels]
        )
        lead_codes = dict(ref.lead_stages)
        open_leads = [c for c in LEAD_STAGE_WEIGHTS if c in lead_codes]
        self.lead_stage_pick = _Pick(open_leads, [LEAD_STAGE_WEIGHTS[c] for c in open_leads])
        self.lead_order = [code for code, _pk in ref.lead_stages]
        self.home_pick = _Pick(attraction_demo.HOMES, [h[2] for h in attraction_demo.HOMES])
        self.departments = {name: ref.units[name] for name in cat.DEPARTMENTS if name in ref.units}
        self.county_units = {
            c.code: ref.units[f"{c.name}人民政府"] for c in cat.COUNTIES if f"{c.name}人民政府" in ref.units
        }
        self.approval_units = {
            dept: ref.units.get(name) for dept, name in APPROVAL_DEPARTMENTS.items() if name in ref.units
        }
        self.pools: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self.serials = self._serial_tops()
        self.names: set[str] = set()  # project names of this run (a second of a kind is its 二期)
        self.document_serial = 0
        self.schedules: dict[tuple, dict[int, tuple]] = {}
        # Small caches of what every report needs: month facts, local midnights, texts.
        self.months: dict[dt.date, tuple[dt.date, int, dt.date]] = {}
        self.yesterday = today - dt.timedelta(days=1)
        self.midnight = {
            self.window_start + dt.timedelta(days=d): self.at(self.window_start + dt.timedelta(days=d), 0)
            for d in range((today - self.window_start).days + 1)
        }
        self.hm = {(h, m): dt.timedelta(hours=h, minutes=m) for h in range(24) for m in range(60)}
        self.text: dict[tuple[int, int], str] = {}
        self.stage_rows = {st.code: st for st in Stage.objects.all()}
        self.rules = [Rule(r.code, r.params) for r in WarningRule.objects.filter(is_active=True)]
        levels = list(WarningLevel.objects.all())
        self.level_order = {lv.code: lv.order for lv in levels}
        self.level_ids = {lv.code: lv.pk for lv in levels}
        self.main_share = getattr(settings, "SCHEDULE_MAIN_STRUCTURE_SHARE", MAIN_STRUCTURE_SHARE)
        self.production_after = getattr(settings, "SCHEDULE_PRODUCTION_AFTER_DAYS", PRODUCTION_AFTER_DAYS)
        self.milestone_names = {code: str(label) for code, label in MilestoneKind.choices}
        self.new_units: list[tuple] = []
        self.result = GenerateResult()
        self._tables(stamp=self.stamp)

    # ------------------------------------------------------------ setup

    def _tables(self, stamp: dt.datetime) -> None:
        T = lambda model, names: Table(model, names, stamp=stamp)  # noqa: E731
        self.t_unit = T(Unit, ["id", "name", "kind", "region", "is_demo"])
        self.t_project = T(
            Project,
            ["id", "code", "name", "enterprise", "region", "chain", "kind", "build_type", "total_investment",
             "annual_planned_investment", "signed_on", "planned_start", "planned_completion", "stage",
             "lead_leader", "latitude", "longitude", "capacity_gate", "environment_gate", "safety_gate",
             "is_two_high", "two_high_approval", "description", "is_demo", "created_at", "updated_at"],
        )  # fmt: skip
        self.t_departments = T(Project.departments.through, ["project", "unit"])
        self.t_stage_change = T(StageChange, ["project", "from_stage", "to_stage", "at", "note"])
        self.t_approval = T(
            ProjectApproval,
            ["project", "kind", "status", "not_needed_reason", "submitted_on", "approved_on",
             "handling_department", "document_no"],
        )  # fmt: skip
        self.t_milestone = T(Milestone, ["project", "kind", "actual_date"])
        self.t_report = T(
            MonthlyReport,
            ["project", "region", "month", "investment_done", "percent_complete", "physical_progress",
             "jobs_on_site", "status", "submitted_at", "approved_at", "created_at", "updated_at"],
        )  # fmt: skip
        self.t_problem = T(
            Problem,
            ["id", "project", "region", "title", "description", "category", "lead_leader", "owner_unit",
             "due_date", "status", "level", "escalated_at", "closed_at", "is_demo", "created_at", "updated_at"],
        )  # fmt: skip
        self.t_step = T(
            ProblemStep,
            ["problem", "action", "from_status", "to_status", "from_level", "to_level", "at", "comment"],
        )
        self.t_lead = T(
            Lead,
            ["id", "name", "investor", "investor_region", "chain", "position", "amount", "attracting_unit",
             "region", "expected_signing", "stage", "industry_fit", "screening_note", "dropped_at",
             "drop_reason", "project", "is_demo", "created_at", "updated_at"],
        )  # fmt: skip
        self.t_lead_change = T(LeadStageChange, ["lead", "from_stage", "to_stage", "on", "note"])
        self.t_warning = T(
            ProjectWarning,
            [
                "project",
                "region",
                "level",
                "reasons",
                "rules",
                "red_cleared_on",
                "computed_at",
                "computed_on",
            ],
        )

    def _serial_tops(self) -> dict[str, int]:
        """The highest serial in use per code prefix (year-region-industry-type), so new codes follow
        the existing ones and never collide, run after run."""
        tops: dict[str, int] = {}
        for code in Project.objects.values_list("code", flat=True).iterator(chunk_size=5000):
            prefix, _sep, serial = code.rpartition("-")
            if serial.isdigit():
                tops[prefix] = max(tops.get(prefix, 0), int(serial))
        return tops

    # ------------------------------------------------------------ helpers

    def at(self, day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.tz)

    def between(self, lo: dt.date, hi: dt.date, u: float) -> dt.date:
        if hi <= lo:
            return lo
        return lo + dt.timedelta(days=int(u * ((hi - lo).days + 1)))

    def code(self, year: int, region: str, industry: str, approval: str) -> str:
        prefix = f"{year}-{region}-{industry}-{approval}"
        serial = self.serials.get(prefix, 0) + 1
        if serial > 999_999:
            raise ReferenceDataMissing(_("项目代码前缀 %(prefix)s 的流水号已用完") % {"prefix": prefix})
        self.serials[prefix] = serial
        return f"{prefix}-{serial:06d}"

    def unit_name(self, county: cat.County, trade: str) -> tuple[str, str]:
        """A new enterprise's name and the short name its projects are called by."""
        rng = self.rng
        brands = cat.ENTERPRISE_BRANDS
        for _attempt in range(20):
            prefix = rng.choice((county.short[:2], *cat.ENTERPRISE_PREFIXES))
            first, second = rng.choice(brands), rng.choice(brands)
            brand = first if first == second else first + second
            short = f"{brand}{trade}"
            name = f"{prefix}{short}{rng.choice(cat.ENTERPRISE_SUFFIXES)}"
            if name not in self.ref.units:
                return name, short
        n = 2
        while f"{name}（{n}）" in self.ref.units:
            n += 1
        return f"{name}（{n}）", short

    def new_unit(self, name: str, county_code: str) -> int:
        pk = self._unit_ids.pop()
        self.ref.units[name] = pk
        self.new_units.append((pk, name, "enterprise", self.ref.counties[county_code].pk, True))
        return pk

    def unique_name(self, name: str) -> str:
        candidate = name
        for phase in "二三四五六七八九":
            if candidate not in self.names:
                break
            base, tail = (name[:-2], name[-2:]) if name.endswith(("项目", "工程")) else (name, "")
            candidate = f"{base}{phase}期{tail}"
        n = 10
        while candidate in self.names:
            candidate, n = f"{name}（{n}）", n + 1
        self.names.add(candidate)
        return candidate

    # ------------------------------------------------------------ one batch

    def run(self, *, count: int, progress: Callable[[str], None]) -> GenerateResult:
        started = time.monotonic()
        tables = [t for name, t in vars(self).items() if name.startswith("t_") and isinstance(t, Table)]
        self.sink.begin(tables, bulk=count >= BULK_FROM)
        done, last_print = 0, 0
        while done < count:
            n = min(BATCH, count - done)
            self.batch(n)
            done += n
            if done - last_print >= PROGRESS or done == count:
                last_print = done
                elapsed = max(time.monotonic() - started, 1e-6)
                rows = sum(self.sink.counts.values())
                progress(
                    f"  项目 {done}/{count}，已写入 {rows} 行，{rows / elapsed:,.0f} 行/秒，"
                    f"{done / elapsed:,.0f} 项目/秒，用时 {elapsed:.1f} 秒"
                )
        self.sink.finish()
        self.result.seconds["rows"] = time.monotonic() - started
        return self.result

    def batch(self, n: int) -> None:
        ids = self.sink.ids(Project, n)
        if self.result.first_project_id is None:
            self.result.first_project_id = ids[0]
        # At most one new enterprise per project: ids for all of them up front (unused ones are gaps).
        self._unit_ids = list(reversed(self.sink.ids(Unit, n)))
        buf: dict[str, list[tuple]] = defaultdict(list)
        for pk in ids:
            self.project(pk, buf)
        problem_ids = self.sink.ids(Problem, len(buf["problem"]))
        lead_ids = self.sink.ids(Lead, len(buf["lead"]))
        # Parents first, so the rows are valid in the order they arrive.
        writes = [
            (self.t_unit, self.new_units),
            (self.t_project, buf["project"]),
            (self.t_departments, buf["departments"]),
            (self.t_stage_change, buf["stage_change"]),
            (self.t_approval, buf["approval"]),
            (self.t_milestone, buf["milestone"]),
            (self.t_report, buf["report"]),
            (self.t_warning, buf["warning"]),
            (self.t_problem, [(pk, *row) for pk, row in zip(problem_ids, buf["problem"], strict=True)]),
            (self.t_step, [(problem_ids[i], *row) for i, steps in enumerate(buf["steps"]) for row in steps]),
            (self.t_lead, [(pk, *row) for pk, row in zip(lead_ids, buf["lead"], strict=True)]),
            (
                self.t_lead_change,
                [(lead_ids[i], *row) for i, changes in enumerate(buf["lead_changes"]) for row in changes],
            ),
        ]
        self.new_units = []
        self.sink.write_batch(writes)

    # ------------------------------------------------------------ one project

    def project(self, pk: int, buf: dict[str, list]) -> None:
        rng, today, ref = self.rng, self.today, self.ref
        u = [rng.random() for _draw in range(24)]
        county = self.county_pick(u[0])
        kind = self.kind_pick(u[1])
        chain = None
        if kind == "industry":
            chain_def = cat.CHAINS[int(u[2] * len(cat.CHAINS))]
            chain = chain_def.name
            templates = cat.INDUSTRY_TEMPLATES[chain]
        elif kind == "infrastructure":
            templates = cat.INFRASTRUCTURE_TEMPLATES
        else:
            templates = cat.LIVELIHOOD_TEMPLATES
        template = templates[int(u[3] * len(templates))]
        if template.rural and county.code == "211302":
            county = cat.COUNTIES[2 + int(u[4] * (len(cat.COUNTIES) - 2))]  # no wind farms in the centre
        stage = self.stage_pick(u[5])
        total = float(demo._investment(rng=rng, template=template))
        start, completion = self.dates(stage, total, u[6], u[7], u[8])
        continuing = start.year < today.year
        annual = float(demo._annual(stage=stage, continuing=continuing, total=Decimal(total), u=u[9]))

        # The stage path and its days: signed, 前期 entered, started (actual), then the later ones.
        built = stage in BUILT
        actual_start = None
        if built:
            slip = -int(u[10] * 6) if u[10] < 6 / 7 else 1 + int((u[10] - 6 / 7) * 42)
            actual_start = min(start + dt.timedelta(days=slip), today - dt.timedelta(days=1))
        anchor = actual_start or min(start, today)
        signed_day = anchor - dt.timedelta(days=60 + int(u[11] * 240))
        if stage in PRE_START:
            signed_day = min(signed_day, today - dt.timedelta(days=20 + int(u[11] * 200)))
        preparing_day = signed_day + dt.timedelta(days=10 + int(u[12] * 40))
        if not built:
            preparing_day = min(preparing_day, today - dt.timedelta(days=1))
        code_year = actual_start.year if actual_start else (today.year if stage in PRE_START else start.year)
        industry = template.industry or next(c.industry for c in cat.CHAINS if c.name == chain)
        code = self.code(code_year, county.code, industry, template.approval)

        # Owner: a county body for public works, an enterprise of the chain otherwise (葡萄串: some
        # enterprises own several projects).
        place = county.short
        if chain is None:
            owner_name = cat.OWNERS[template.owner].format(county=county.short)
            enterprise = ref.units.get(owner_name) or self.new_unit(owner_name, county.code)
            short = county.short
        else:
            pool = self.pools[(county.code, chain)]
            if pool and u[13] < 0.45:
                enterprise, short = pool[int(u[14] * len(pool))]
            else:
                name, short = self.unit_name(county, chain_def.trade)
                enterprise = self.new_unit(name, county.code)
                pool.append((enterprise, short))
                if len(pool) > 40:
                    pool.pop(0)  # the pool stays small: memory does not grow with N
        if "{county}" in template.name and u[15] < 0.8:
            # Works named after the county are told apart by the part of it they are in.
            place = f"{county.short}{PLACES[int(u[14] * len(PLACES))]}"
        size = template.sizes[int(u[16] * len(template.sizes))] if template.sizes else 0
        if template.per_unit:
            size = max(20, round(total / template.per_unit / 10) * 10)
        name = template.name.format(county=place, ent=short, n=size)
        if chain is None:
            name = f"{code_year}年{name}"  # as public works are listed: the year's batch
        name = self.unique_name(name)

        gates = (PASSED,) * 3
        if stage == "planning" and u[17] >= 0.5:
            which = int(u[18] * 3)
            gates = tuple(
                ("failed" if u[17] >= 0.85 else "pending") if i == which else PASSED for i in range(3)
            )
        two_high_approval = ""
        if template.two_high and (stage != "planning" or u[19] < 0.5):
            two_high_approval = f"辽发改环资〔{signed_day.year}〕{20 + int(u[19] * 380)}号 节能审查意见"
        lat = lon = None
        box = ref.boxes.get(county.code)
        if box and u[20] < 0.9:
            min_lat, max_lat, min_lon, max_lon = box
            centre = ref.centres.get(county.code)
            du, dv = rng.uniform(-1, 1), rng.uniform(-1, 1)
            if centre and county.code not in ref.own_boxes:
                lat, lon = centre[0] + du * county.jitter, centre[1] + dv * county.jitter * 1.3
            else:
                lat = min_lat + (du + 1) / 2 * (max_lat - min_lat)
                lon = min_lon + (dv + 1) / 2 * (max_lon - min_lon)
            margin = 0.005
            lat = f"{min(max(lat, min_lat + margin), max_lat - margin):.6f}"
            lon = f"{min(max(lon, min_lon + margin), max_lon - margin):.6f}"
        leader = f"{cat.SURNAMES[int(u[21] * len(cat.SURNAMES))]}{cat.GIVEN_NAMES[int(u[22] * len(cat.GIVEN_NAMES))]}"
        lead_leader = (
            cat.CITY_LEADERS[int(u[23] * len(cat.CITY_LEADERS))]
            if total >= float(demo.CITY_LEADER_FROM)
            else f"{county.short}副{county.head}{leader}"
        )
        region = ref.counties[county.code].pk
        stage_id = ref.stages[stage]
        money = demo._money(Decimal(total))
        created = self.at(signed_day if stage != "planning" else preparing_day, 9)

        # The history: each step from 谋划 to the stage now, on its day.
        order = STAGES.index(stage)
        days = self.stage_days(stage, signed_day, preparing_day, actual_start, completion)
        for i in range(order):
            buf["stage_change"].append(
                (
                    pk,
                    ref.stages[STAGES[i]],
                    ref.stages[STAGES[i + 1]],
                    self.at(days[i], 10, i * 7),
                    "按计划推进",
                )
            )
        updated = self.at(days[order - 1], 10, (order - 1) * 7) if order else created
        buf["project"].append(
            (pk, code, name, enterprise, region, ref.chains.get(chain) if chain else None, kind,
             "continuing" if continuing else "new", f"{total:.2f}", f"{annual:.2f}",
             signed_day if order >= 1 else None, start, completion, stage_id, lead_leader, lat, lon,
             gates[0], gates[1], gates[2], template.two_high, two_high_approval,
             f"{template.content}，总投资{money}。{MARK}", True, created, updated)
        )  # fmt: skip
        for dept in self.project_departments(kind, template):
            buf["departments"].append((pk, dept))

        milestones = self.milestones(pk, buf, stage, kind, start, completion, actual_start, days)
        late = self.approvals(pk, buf, stage, kind, total, signed_day, preparing_day, start, actual_start)
        months, percent = frozenset(), None
        if built:
            months, percent = self.reports(
                pk, buf, stage, region, total, start, completion, actual_start, milestones
            )
        self.light(
            pk, buf, region, stage, kind, start, completion, actual_start, milestones, late, months, percent
        )
        if stage in PROBLEM_STAGES and rng.random() < PROBLEM_SHARE:
            self.problem(pk, buf, county, region, max(signed_day, today - dt.timedelta(days=300)))
        if rng.random() < LEAD_SHARE:
            self.lead(pk, buf, stage, kind, chain, name, total, county, region, signed_day, actual_start)

    def month_info(self, month: dt.date) -> tuple[dt.date, int, dt.date]:
        """(next month, the day its progress is judged on as an ordinal, its report's due day)."""
        info = self.months.get(month)
        if info is None:
            following = _shift(month, 1)
            seen = min(following - dt.timedelta(days=1) + dt.timedelta(days=25), self.today)
            info = self.months[month] = (following, seen.toordinal(), following.replace(day=self.due_day))
        return info

    def light(
        self, pk, buf, region, stage, kind, start, completion, actual_start, milestones, late, months, percent
    ):
        """The project's light by the warning rules themselves (guatu.progress.rules.evaluate), from
        the facts just generated: what `warnings_recompute` would read back from the rows, without
        reading them (the tests check that both agree)."""
        today = self.today
        items = list(late)
        planned = {"main_structure": None, "completed": completion}
        if start and completion:
            planned["main_structure"] = start + dt.timedelta(
                days=round(self.main_share * (completion - start).days)
            )
        if kind == "industry" and completion:
            planned["in_production"] = completion + dt.timedelta(days=self.production_after)
        stage_order = self.stage_rows[stage].order
        for code in MILESTONE_ORDER:
            date = planned.get(code)
            reached_at = MILESTONE_STAGE.get(code)
            if date is None or reached_at is None or code in milestones or date >= today:
                continue
            if stage_order >= self.stage_rows[reached_at].order:
                continue
            items.append(
                LateItem(name=self.milestone_names[code], kind="milestone", late_days=(today - date).days)
            )
        facts = ProjectFacts(
            phase=warning_phase(self.stage_rows[stage], self.stage_rows),
            planned_start=start,
            planned_completion=completion,
            started_on=actual_start or start,
            latest_percent=percent,
            reported_months=months,
            late_items=tuple(items),
        )
        outcome = evaluate(facts, self.rules, self.level_order, today, None)
        fired = sorted({r["rule"] for r in outcome.reasons})
        buf["warning"].append(
            (pk, region, self.level_ids[outcome.level], json.dumps(outcome.reasons, ensure_ascii=False),
             f",{','.join(fired)}," if fired else "", outcome.red_cleared_on, self.stamp, today)
        )  # fmt: skip
        self.result.counts[f"warnings_{outcome.level}"] += 1

    def dates(self, stage: str, total: float, u0: float, u1: float, u2: float) -> tuple[dt.date, dt.date]:
        """Planned start and completion that agree with the stage, over the years of the window."""
        today, day = self.today, dt.timedelta(days=1)
        months = 6 + 6 * u0 if total < 5000 else 12 + 12 * u0 if total < 50_000 else 18 + 18 * u0
        duration = dt.timedelta(days=int(months * 30.4))
        if stage in PRE_START:
            # Late ones should have started this year; the others start within the months their
            # approvals need (a signed project further off than one in 前期).
            late = u2 < demo.LATE_SHARE[stage]
            ahead = {"planning": (30, 360), "signed": (150, 420), "preparing": (45, 300)}[stage]
            if late:
                lo, hi = max(self.jan1, today - dt.timedelta(days=300)), today - day
            else:
                lo, hi = today + dt.timedelta(days=ahead[0]), today + dt.timedelta(days=ahead[1])
            if hi < lo:
                lo, hi = today - dt.timedelta(days=90), today - day
            start = self.between(lo, hi, u1)
        elif stage == "started":
            start = self.between(max(self.window_start, today - dt.timedelta(days=120)), today - day, u1)
        elif stage == "under_construction":
            start = self.between(self.window_start, today - dt.timedelta(days=30), u1)
        else:
            start = self.between(self.window_start, today - dt.timedelta(days=150), u1)
        completion = start + duration
        if stage in FINISHED:
            # 竣工 is recent (投产 follows within a month); 投产 and 达产 finished longer ago.
            latest = today - dt.timedelta(days=1 + int((25 if stage == "completed" else 150) * u2))
            completion = latest if stage == "completed" else min(completion, latest)
            completion = max(completion, start + dt.timedelta(days=30))
        elif stage in BUILT:
            completion = max(completion, today + dt.timedelta(days=30 + int(300 * u2)))
        return start, completion

    def stage_days(self, stage, signed_day, preparing_day, actual_start, completion) -> list[dt.date]:
        """The day of each step i → i+1 along STAGES, up to the stage reached."""
        today = self.today
        days = [signed_day, preparing_day]
        if actual_start:
            days.append(max(actual_start, preparing_day))
            days.append(min(days[-1] + dt.timedelta(days=30), today))
        done = min(completion, today) if completion else today
        days.append(max(done, days[-1]))
        days.append(min(days[-1] + dt.timedelta(days=20), today))
        days.append(min(days[-1] + dt.timedelta(days=100), today))
        return days

    def project_departments(self, kind: str, template) -> list[int]:
        rng, depts = self.rng, self.departments
        chosen = []
        u = rng.random(), rng.random(), rng.random()
        if template.approval in {"01", "02"} or u[0] < 0.6:
            chosen.append(depts.get(cat.FAGAI))
        if kind == "industry" and u[1] < 0.6:
            chosen.append(depts.get(cat.GONGXIN))
        if u[2] < (0.5 if template.two_high else 0.2):
            chosen.append(depts.get(cat.SHENGTAI))
        return [d for d in chosen if d]

    def milestones(self, pk, buf, stage, kind, start, completion, actual_start, days) -> dict[str, dt.date]:
        if actual_start is None:
            return {}
        today = self.today
        reached = {"started": actual_start}
        if stage in FINISHED:
            finished = max(days[4], actual_start)
            main = start + dt.timedelta(days=round(0.7 * (completion - start).days))
            reached["main_structure"] = min(max(main, actual_start), finished)
            reached["completed"] = finished
            if stage in ("in_production", "at_capacity") and kind == "industry":
                reached["in_production"] = max(days[5], finished)
        else:
            main = start + dt.timedelta(days=round(0.7 * (completion - start).days))
            if main < today - dt.timedelta(days=20) and self.rng.random() < 0.8:
                reached["main_structure"] = max(actual_start, main)
        for kind_code, day in reached.items():
            buf["milestone"].append((pk, kind_code, day))
        return reached

    def approvals(self, pk, buf, stage, kind, total, signed_day, preparing_day, start, actual_start) -> list:
        """One approval per group that applies to the project's kind; done before the start when
        built, a mix in 前期, the 立项 at most once signed, nothing in 谋划."""
        rng, today = self.rng, self.today
        kinds = self.ref.approval_kinds[kind]
        groups: dict[str, ApprovalKind] = {}
        for k in kinds:
            if k.group not in groups or (k.is_default and not groups[k.group].is_default):
                groups[k.group] = k
        big = total >= 50_000
        if "eia" in groups:
            if big and "eia_report" in self.ref.kinds_by_code:
                groups["eia"] = self.ref.kinds_by_code["eia_report"]
            elif total < 3000 and "eia_registration" in self.ref.kinds_by_code:
                groups["eia"] = self.ref.kinds_by_code["eia_registration"]
        if "filing" in groups and kind == "industry" and big and "filing_approve" in self.ref.kinds_by_code:
            groups["filing"] = self.ref.kinds_by_code["filing_approve"]
        chosen = sorted(groups.values(), key=lambda k: (k.order, k.code))
        if stage in BUILT:
            self.approvals_done(pk, buf, chosen, signed_day, actual_start, stage)
            return []  # all approved or not needed: nothing of them is late
        # 谋划 files nothing; 签约 and 前期 are as far along as their backward schedule asks, mostly:
        # what is past its latest finish is mostly approved, what is open now is mostly submitted.
        latest = self.latest_dates(kind, chosen, start) if stage != "planning" else {}
        blocked = False
        late = []
        for k in chosen:
            u, v = rng.random(), rng.random()
            status, submitted, approved, dept, number = "not_started", None, None, None, ""
            begin, finish = latest.get(k.pk, (None, None))
            if finish is not None and not blocked:
                if finish < today:
                    status = "approved" if u < 0.85 else "submitted" if u < 0.93 else "not_started"
                elif begin is not None and begin <= today:
                    status = "submitted" if u < 0.6 else "approved" if u < 0.85 else "not_started"
                elif u < 0.12:
                    status = "approved"
                elif u < 0.22:
                    status = "submitted"
            if stage == "signed" and k.group != "filing" and status != "not_started" and v < 0.5:
                status = "not_started"  # a signed project has filed little beyond its 立项
            if status == "approved":
                approved = min(finish - dt.timedelta(days=int(v * 15)), today - dt.timedelta(days=1))
                approved = max(approved, signed_day)
                submitted = approved - dt.timedelta(days=int(k.duration * (0.4 + 0.5 * v)))
                number = self.document_no(k.code, approved)
            elif status == "submitted":
                submitted = max(min(begin or today, today) - dt.timedelta(days=int(v * 10)), signed_day)
                submitted = min(submitted, today)
            else:
                blocked = True  # what depends on it cannot be approved yet
            if status != "not_started":
                dept = self.approval_units.get(k.department)
            buf["approval"].append((pk, k.pk, status, "", submitted, approved, dept, number))
            if status != "approved" and finish is not None and finish < today:
                late.append(LateItem(name=k.name, kind="approval", late_days=(today - finish).days))
        return late

    def approvals_done(self, pk, buf, chosen, signed_day, actual_start, stage) -> None:
        """A started project got its approvals in order between its signing and its start; a few
        needed none (with the reason)."""
        end = actual_start - dt.timedelta(days=1)
        begin = min(signed_day, end)
        span = max((end - begin).days, 1)
        n = len(chosen)
        for i, k in enumerate(chosen):
            u = self.rng.random()
            if k.code in NOT_NEEDED and u < 0.12:
                buf["approval"].append((pk, k.pk, "not_needed", NOT_NEEDED[k.code], None, None, None, ""))
                continue
            approved = min(begin + dt.timedelta(days=int(span * (i + 1) / (n + 1))), self.today)
            submitted = approved - dt.timedelta(days=int(k.duration * (0.4 + 0.5 * u)))
            dept = self.approval_units.get(k.department)
            buf["approval"].append(
                (pk, k.pk, "approved", "", submitted, approved, dept, self.document_no(k.code, approved))
            )

    def document_no(self, code: str, day: dt.date) -> str:
        self.document_serial += 1
        return DOCUMENT_NO.get(code, "〔{y}〕{n}号").format(y=day.year, n=self.document_serial % 10000 + 1)

    def latest_dates(self, kind: str, chosen, start: dt.date) -> dict[int, tuple]:
        """Each approval kind's latest start and finish, from the same backward schedule the pages
        and the warning rules use (no queries: plain objects in)."""
        key = (kind, start, tuple(k.pk for k in chosen))
        if key in self.schedules:  # the same kinds and start give the same dates: compute once
            return self.schedules[key]
        project = _Row(planned_start=start, planned_completion=None, kind=kind)
        rows = [
            _Row(kind=k, kind_id=k.pk, status="not_started", approved_on=None, submitted_on=None)
            for k in chosen
        ]
        items = build_schedule(
            project=project, approvals=rows, edges=self.ref.edges, milestones={}, today=self.today
        )
        by_code = {k.code: k.pk for k in chosen}
        dates = {
            by_code[item.code]: (item.latest_start, item.latest_finish)
            for item in items
            if item.kind == "approval" and item.code in by_code
        }
        if len(self.schedules) > 50_000:
            self.schedules.clear()  # bounded, whatever N is
        self.schedules[key] = dates
        return dates

    def reports(self, pk, buf, stage, region, total, start, completion, actual_start, milestones) -> tuple:
        """Every month from the start to the month being reported (a closed project: to its
        completion). 形象进度 follows the time-based plan, some projects lag; the cumulative
        investment is a share of the total that grows with it, so the months never sum past it."""
        rng = self.rng
        first = actual_start.replace(day=1)
        last = self.last_month
        finished = milestones.get("completed")
        if stage in CLOSED and finished:
            last = min(last, finished.replace(day=1))
        if first > last:
            return frozenset(), None
        lag = 0.0
        draw = rng.random()
        if stage in ("started", "under_construction"):
            if draw < RED_SHARE:
                lag = 35 + 10 * rng.random()
            elif draw < RED_SHARE + YELLOW_SHARE:
                lag = 15 + 10 * rng.random()
        share = 0.86 + 0.14 * rng.random()  # of the total invested by 100 %
        cents_total = round(total * 100)
        end = finished or completion
        span = max((end - actual_start).days, 1)
        statuses = self.ref.report_statuses
        approved_id, submitted_id = statuses["approved"], statuses["submitted"]
        jobs_base = 15 + math.sqrt(total) / 3
        start_ord = actual_start.toordinal()
        finished_month = finished.replace(day=1) if finished else None
        yesterday = self.yesterday
        midnight, hm, text = self.midnight, self.hm, self.text
        previous_pct, previous_cum, months = 0, 0, []
        month = first
        while month <= last:
            u0, u1, u2, u3 = rng.random(), rng.random(), rng.random(), rng.random()
            following, seen_ord, due = self.month_info(month)
            elapsed = min(max((seen_ord - start_ord) / span, 0.0), 1.0)
            target = elapsed * 100 - lag * elapsed + (u0 - 0.5) * 2
            if finished_month and month >= finished_month:
                target = 100
            pct = max(previous_pct, min(max(int(target * 100), 0), 10_000))  # hundredths of a percent
            cum = int(cents_total * share * pct / 10_000)
            if pct == 10_000:
                cum = max(cum, previous_cum)
            investment = max(cum - previous_cum, 0)
            status = submitted_id if month == last and u1 < LAST_SUBMITTED else approved_id
            sent = min(due - dt.timedelta(days=int(u2 * 6)), yesterday)
            day = midnight.get(sent) or self.at(sent, 0)
            submitted_at = day + hm[(9 + int(u3 * 8), int(u3 * 600) % 60)]
            approved_at = None
            if status == approved_id:
                approved_day = min(sent + dt.timedelta(days=1 + int(u2 * 4)), yesterday)
                approved_at = max(
                    (midnight.get(approved_day) or self.at(approved_day, 0)) + hm[(16, 0)], submitted_at
                )
            jobs = 0 if pct >= 10_000 else int(jobs_base * (0.5 + u0))
            key = (bisect.bisect_left(_TEXT_CEILINGS, pct), int(u1 * 30))
            progress = text.get(key)
            if progress is None:
                progress = text[key] = _progress_text(pct, u1)
            buf["report"].append(
                (pk, region, month, _cents(investment), _cents(pct), progress, jobs, status,
                 submitted_at, approved_at, submitted_at, approved_at or submitted_at)
            )  # fmt: skip
            previous_pct, previous_cum = pct, cum
            months.append(month)
            month = following
        return frozenset(months), Decimal(previous_pct).scaleb(-2)

    def problem(self, pk, buf, county: cat.County, region: int, earliest: dt.date) -> None:
        """A problem at a status and rung from the tables' mix, with its steps. An open problem on a
        rung is never so overdue that the daily escalation would already have moved it."""
        rng, today, ref = self.rng, self.today, self.ref
        category = sorted(problems_demo.TITLES)[int(rng.random() * len(problems_demo.TITLES))]
        titles = problems_demo.TITLES[category]
        title, description = titles[int(rng.random() * len(titles))]
        status_code, status_id, is_closed = self.problem_status_pick(rng.random())
        level_code, level_id = self.problem_level_pick(rng.random())
        owners = problems_demo.OWNERS[category]
        owner_name = owners[int(rng.random() * len(owners))]
        owner = (
            self.county_units.get(county.code) if owner_name == "county" else self.departments.get(owner_name)
        )
        owner = owner or self.departments.get(cat.FAGAI) or next(iter(self.county_units.values()))
        raised = self.between(
            min(earliest, today - dt.timedelta(days=2)), today - dt.timedelta(days=2), rng.random()
        )
        due = raised + dt.timedelta(days=15 + int(rng.random() * 45))
        if not is_closed:
            due = max(due, today - dt.timedelta(days=int(rng.random() * 7)))
        flow, levels = ref.problem_statuses, ref.problem_levels
        reach = [code for code, _pk, _closed in flow].index(status_code)
        climb = [code for code, _pk in levels].index(level_code)
        # The events after the report, in order: the first step of the flow (交办), then the climbs
        # up the ladder, then the rest of the flow; each on a later day than the one before.
        events: list[tuple] = []
        for i in range(1, reach + 1):
            code = flow[i][0]
            comment = problems_demo.REASONS["resolve"][int(rng.random() * 3)] if code == "resolved" else ""
            events.append((PROBLEM_ACTIONS.get(code, code), flow[i - 1][1], flow[i][1], None, None, comment))
        reasons = problems_demo.REASONS["escalate"]
        climbs = [
            (
                "escalate",
                None,
                None,
                levels[j - 1][1],
                levels[j][1],
                reasons[int(rng.random() * len(reasons))],
            )
            for j in range(1, climb + 1)
        ]
        events[min(1, len(events)) : min(1, len(events))] = climbs
        span = max((today - dt.timedelta(days=1) - raised).days, 1)
        days = sorted(raised + dt.timedelta(days=1 + int(rng.random() * span)) for _event in events)
        steps = [("report", None, flow[0][1], None, levels[0][1], self.at(raised, 9), "")]
        escalated_at = None
        for n, (event, day) in enumerate(zip(events, days, strict=True), start=1):
            moment = self.at(min(day, today - dt.timedelta(days=1)), 10, n)
            steps.append((*event[:5], moment, event[5]))
            if event[0] == "escalate":
                escalated_at = moment
        closed_at = steps[-1][5] if is_closed else None
        buf["problem"].append(
            (pk, region, title, f"{description}{MARK}", category, "", owner, due, status_id, level_id,
             escalated_at, closed_at, True, steps[0][5], steps[-1][5])
        )  # fmt: skip
        buf["steps"].append(steps)

    def lead(
        self, pk, buf, stage, kind, chain, name, total, county, region, signed_day, actual_start
    ) -> None:
        """A lead: the one that brought a started industrial project in (linked to it), or one still
        in the funnel, some dropped."""
        rng, today, ref = self.rng, self.today, self.ref
        home, cities, _w = self.home_pick(rng.random())
        city = cities[int(rng.random() * len(cities))]
        brand = attraction_demo.BRANDS[int(rng.random() * len(attraction_demo.BRANDS))]
        suffix = attraction_demo.SUFFIXES[int(rng.random() * len(attraction_demo.SUFFIXES))]
        stage_ids = dict(ref.lead_stages)
        linked = kind == "industry" and actual_start is not None and "started" in stage_ids
        if not linked:
            chain = cat.CHAINS[int(rng.random() * len(cat.CHAINS))].name
        chain_def = next(c for c in cat.CHAINS if c.name == chain)
        links = attraction_demo.LINKS[chain]
        position, link = links[int(rng.random() * len(links))]
        investor = f"{city}{brand}{chain_def.trade}{suffix}"
        if linked:
            final = (
                "in_production"
                if stage in ("in_production", "at_capacity") and "in_production" in stage_ids
                else "started"
            )
            lead_name, amount, project = name, total, pk
            last_day = (
                actual_start if final == "started" else min(actual_start + dt.timedelta(days=200), today)
            )
        else:
            final = self.lead_stage_pick(rng.random())
            lead_name = f"{brand}{link}项目"
            amount = float(round(12_000 * math.exp(rng.gauss(0, 1)) / 100) * 100)
            amount = min(max(amount, 500.0), 300_000.0)
            project = None
            last_day = today - dt.timedelta(days=int(rng.random() * 150))
        path = self.lead_order[: self.lead_order.index(final) + 1]
        gaps = [15 + int(rng.random() * 60) for _stage in path]
        entries = [last_day]
        for gap in reversed(gaps[1:]):
            entries.insert(0, entries[0] - dt.timedelta(days=gap))
        if linked:
            # It was signed when the project was: keep the funnel before the start.
            entries = [min(d, actual_start) for d in entries]
        dropped_at, drop_reason = None, ""
        if not linked and rng.random() < LEAD_DROP_SHARE:
            dropped_at = min(entries[-1] + dt.timedelta(days=10 + int(rng.random() * 60)), today)
            drop_reason = attraction_demo.DROP_REASONS[int(rng.random() * len(attraction_demo.DROP_REASONS))]
        signed_order = self.lead_order.index("signed") if "signed" in self.lead_order else 3
        past_signing = self.lead_order.index(final) >= signed_order
        expected = None if past_signing else today + dt.timedelta(days=30 + int(rng.random() * 200))
        attracting = self.county_units.get(county.code) or self.departments.get(cat.SHANGWU)
        if rng.random() < 0.25 and cat.SHANGWU in self.departments:
            attracting = self.departments[cat.SHANGWU]
        buf["lead"].append(
            (lead_name, investor, home, ref.chains[chain], position, f"{amount:.2f}", attracting, region,
             expected, stage_ids[final], "passed" if past_signing else "pending", MARK, dropped_at,
             drop_reason, project, True, self.at(entries[0], 9), self.at(dropped_at or entries[-1], 9))
        )  # fmt: skip
        changes = []
        previous = None
        for code, day in zip(path, entries, strict=True):
            changes.append((previous, stage_ids[code], day, ""))
            previous = stage_ids[code]
        buf["lead_changes"].append(changes)


def _shift(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


_TEXT_CEILINGS = [int(ceiling * 100) for ceiling, _options in PROGRESS_TEXT]


def _progress_text(pct: int, u: float) -> str:
    i = min(bisect.bisect_left(_TEXT_CEILINGS, pct), len(PROGRESS_TEXT) - 1)
    options = PROGRESS_TEXT[i][1]
    return options[int(u * len(options))].format(floor=3 + int(u * 15))


# ---------------------------------------------------------------- the entry points


def generate(
    *,
    projects: int,
    today: dt.date,
    years: int = 3,
    seed: int = 1,
    reset: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> GenerateResult:
    """Add `projects` generated projects and everything around them, in one transaction; with
    reset, delete the previously generated rows first. Returns the rows written per table."""
    if projects < 0:
        raise ValueError("projects must be >= 0")
    if years < 1:
        raise ValueError("years must be >= 1")
    started = time.monotonic()
    with transaction.atomic():
        deleted: Counter = Counter()
        if reset:
            phase = time.monotonic()
            deleted = reset_generated()
            progress(f"已删除此前生成的数据：{_format_counts(deleted)}（{time.monotonic() - phase:.1f} 秒）")
        ref = ensure_reference()
        sink = make_sink()
        gen = Generator(ref=ref, sink=sink, seed=seed, years=years, today=today)
        try:
            with translation.override(settings.LANGUAGE_CODE):  # stored reasons: in the site's language
                result = gen.run(count=projects, progress=progress) if projects else gen.result
        finally:
            sink.close()
        result.counts.update({_label(table): n for table, n in sink.counts.items()})
        shown = [t for t, _v in sink.seconds.most_common(3)] + ["index_rebuild", "foreign_key_checks"]
        result.seconds.update(
            {f"db:{_label(t)}": sink.seconds[t] for t in dict.fromkeys(shown) if t in sink.seconds}
        )
        result.counts.update({f"deleted_{k}": v for k, v in deleted.items()})
        if projects or reset:
            # The bulk load sent no signals: the rollups are rebuilt from what is now in the tables.
            phase = time.monotonic()
            rollups.rebuild(
                progress=lambda done, total: (
                    progress(f"汇总：{done}/{total} 个项目") if done == total else None
                )
            )
            result.seconds["rollups"] = time.monotonic() - phase
            phase = time.monotonic()
            if connection.vendor == "postgresql":
                # Fresh statistics for every table (the departments' link table and the rollups
                # too): with the old ones the planner misjudges the loaded tables by 40 times.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            result.seconds["analyze"] = time.monotonic() - phase
        if projects:
            first = Project.objects.get(pk=result.first_project_id)
            record_change(
                actor=None,
                obj=first,
                action="create",
                after={
                    "note": f"批量生成测试数据（guatu generate），本条记录代表本次生成的全部数据，自项目 #{first.pk} 起",
                    "seed": seed,
                    "years": years,
                    "today": today.isoformat(),
                    "rows": {k: v for k, v in sorted(result.counts.items()) if not k.startswith("deleted_")},
                },
            )
    result.seconds["total"] = time.monotonic() - started
    return result


LABELS = {
    Unit: "units", Project: "projects", Project.departments.through: "project_departments",
    StageChange: "stage_changes", ProjectApproval: "approvals", Milestone: "milestones",
    MonthlyReport: "reports", Problem: "problems", ProblemStep: "problem_steps", Lead: "leads",
    LeadStageChange: "lead_stage_changes", ProjectWarning: "warnings",
}  # fmt: skip
_LABEL_BY_TABLE = {model._meta.db_table: label for model, label in LABELS.items()}


def _label(table: str) -> str:
    return _LABEL_BY_TABLE.get(table, table)


def _format_counts(counts) -> str:
    return "，".join(f"{k} {v}" for k, v in sorted(counts.items())) or "无"


# ---------------------------------------------------------------- reset


def _references(model: type[models.Model]) -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every foreign key (and one-to-one) in the project that points at `model`, many-to-many
    tables included."""
    found = []
    for other in apps.get_models(include_auto_created=True):
        for f in other._meta.concrete_fields:
            if isinstance(f, models.ForeignKey) and f.remote_field.model is model:
                found.append((other, f))
    return found


def _delete_where(
    model: type[models.Model], where: str, params: list, counts: Counter, depth: int = 0
) -> None:
    """Delete the rows of `model` matching `where`, cascading by hand in SQL: rows that point at them
    are deleted (CASCADE) or detached (SET_NULL) first, as Django would, without loading them."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    chosen = f"SELECT {quote(model._meta.pk.column)} FROM {table} WHERE {where}"
    for other, f in _references(model):
        if other is model and depth > 3:
            continue
        on_delete = f.remote_field.on_delete
        column = quote(f.column)
        if on_delete is models.CASCADE or other._meta.auto_created:
            _delete_where(other, f"{column} IN ({chosen})", params, counts, depth + 1)
        elif on_delete is models.SET_NULL:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {quote(other._meta.db_table)} SET {column} = NULL WHERE {column} IN ({chosen})",
                    params,
                )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
        if cursor.rowcount:
            counts[_label(model._meta.db_table)] += cursor.rowcount


def reset_generated() -> Counter:
    """Delete what earlier generations wrote: their projects (with everything that hangs off them),
    their leads, and the enterprises they created that nothing else refers to. One change record
    says so, before the rows go."""
    counts: Counter = Counter()
    generated = Project.objects.filter(is_demo=True, description__endswith=MARK)
    first = generated.order_by("pk").first()
    leads = Lead.objects.filter(is_demo=True, screening_note=MARK)
    if first is None and not leads.exists():
        return counts
    enterprise_ids = set(generated.values_list("enterprise_id", flat=True))
    summary = {"projects": generated.count(), "leads": leads.count()}
    if first is not None:
        record_change(
            actor=None,
            obj=first,
            action="delete",
            before={"note": "删除此前批量生成的测试数据（guatu generate --reset）", "rows": summary},
        )
    else:
        lead = leads.order_by("pk").first()
        record_change(
            actor=None,
            obj=lead,
            action="delete",
            before={"note": "删除此前批量生成的招商线索", "rows": summary},
        )
    quote = connection.ops.quote_name
    _delete_where(Lead, f"{quote('is_demo')} = %s AND {quote('screening_note')} = %s", [True, MARK], counts)
    where = f"{quote('is_demo')} = %s AND {quote('description')} LIKE %s"
    _delete_where(Project, where, [True, f"%{MARK}"], counts)
    # Enterprises only generated projects used: drop those nothing refers to any more.
    ids = sorted(enterprise_ids)
    if ids:
        referencing = _references(Unit)
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            free = set(
                Unit.objects.filter(pk__in=chunk, is_demo=True, kind=Unit.Kind.ENTERPRISE).values_list(
                    "pk", flat=True
                )
            )
            for other, f in referencing:
                if not free:
                    break
                used = other._base_manager.filter(**{f"{f.attname}__in": list(free)}).values_list(
                    f.attname, flat=True
                )
                free -= set(used)
            if free:
                Unit.objects.filter(pk__in=free).delete()
                counts["units"] += len(free)
    return counts
