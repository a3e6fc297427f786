"""Formula injection: text a user typed that Excel would run as a formula (= + - @, tab, CR at the
start) is written neutralised into every Excel file guatu hands out, while numbers stay numbers.

Each case enters hostile values through the services, downloads the real file as a user who may, and
reads every cell of every sheet (the hidden drop-down list sheet and the 说明 sheet included)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from guatu.attraction.services import lead_create
from guatu.core import xlsx
from guatu.core.testing import make_project, project_code
from guatu.org.models import Unit
from guatu.org.services import chain_get_or_create, unit_get_or_create
from guatu.progress.tests.report_helpers import building_project, months_ago, save
from guatu.speeches.services import task_create

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x","点我")', "+1", "-2+3", "@SUM(A1)"]
# Whitespace that Excel skips before a formula: a tab or CR first is guarded too.
HOSTILE_SPACED = ["\t=1+1", "\r=2+2"]
TODAY = dt.date(2026, 6, 15)


def _hostile_units(world):
    enterprise, _ = unit_get_or_create(
        actor=None, name="=cmd|' /C calc'!A0", kind=Unit.Kind.ENTERPRISE, region=world.counties["211302"]
    )
    department, _ = unit_get_or_create(
        actor=None, name="@市发改委", kind=Unit.Kind.DEPARTMENT, region=world.city
    )
    chain, _ = chain_get_or_create(actor=None, name="+新材料")
    return enterprise, department, chain


def projects_export(world):
    enterprise, _department, chain = _hostile_units(world)
    for name in HOSTILE + HOSTILE_SPACED:
        make_project(world, name=name, enterprise=enterprise, chain=chain, lead_leader="-副市长")
    return "city", reverse("projects:project_export"), {}


def leads_export(world):
    _enterprise, department, chain = _hostile_units(world)
    for name in HOSTILE + HOSTILE_SPACED:
        data = {
            "name": name,
            "investor": "=cmd|' /C calc'!A0",
            "investor_region": "@北京",
            "chain": chain,
            "amount": Decimal("20000"),
            "attracting_unit": department,
            "region": world.counties["211302"],
        }
        lead_create(actor=None, data=data, on=TODAY, today=TODAY)
    return "city", reverse("attraction:lead_export"), {}


def month_sheet(world):
    county = world.users["county"]
    for index, name in enumerate(HOSTILE + HOSTILE_SPACED):
        project = building_project(world, name=name)
        if index == 0:
            save(county, project, months_ago(1), physical_progress="=1+1 主体封顶")
    return "county", reverse("progress:report_sheet"), {"month": f"{months_ago(1):%Y-%m}"}


def tasks_export(world):
    _enterprise, department, _chain = _hostile_units(world)
    for name in HOSTILE + HOSTILE_SPACED:
        data = {
            "title": name,
            "owner_unit": department,
            "supporting_units": [world.other_department],
            "lead_leader": "@副市长",
            "deadline": TODAY + dt.timedelta(days=30),
            "category": "-营商环境",
        }
        task_create(actor=world.users["city"], data=data, today=TODAY)
    return "city", reverse("speeches:task_export", args=["xlsx"]), {}


def _template(kind: str):
    def setup(world):
        _hostile_units(world)
        make_project(world, code=project_code(), name=HOSTILE[0])
        return "city", reverse("core:import_template", args=[kind]), {}

    setup.__name__ = f"{kind}_template"
    return setup


CASES = [
    projects_export,
    leads_export,
    month_sheet,
    tasks_export,
    _template("projects"),
    _template("leads"),
    _template("reports"),
    _template("tasks"),
]


def _guarded(value: str) -> bool:
    return value.startswith("'") and value[1:].startswith(xlsx.FORMULA_PREFIXES)


@pytest.mark.parametrize("setup", CASES, ids=[case.__name__ for case in CASES])
def test_no_exported_cell_can_run_as_a_formula(world, client, setup):
    role, url, params = setup(world)
    client.force_login(world.users[role])
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    workbook = load_workbook(io.BytesIO(content))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # nothing is stored as a formula
    texts = [c.value for c in cells if isinstance(c.value, str)]
    unguarded = [v for v in texts if v.startswith(xlsx.FORMULA_PREFIXES)]
    assert unguarded == []
    guarded = {v for v in texts if _guarded(v)}
    # The hostile values did reach the file, neutralised; reading them back gives the text typed.
    # (The monthly report template lists no names anyone typed: nothing hostile can reach it.)
    if setup.__name__ != "reports_template":
        assert guarded, "no hostile value reached the export, so the test proves nothing"
    if not setup.__name__.endswith("_template"):
        for value in HOSTILE:
            assert "'" + value in guarded, value
        assert {xlsx.unquote(v) for v in guarded} >= set(HOSTILE)
    # Numbers are written as numbers, never as text (and so never neutralised).
    numbers = [c.value for c in cells if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)]
    if setup in (projects_export, leads_export):
        assert 20000 in numbers or 12000 in numbers
    assert not any(v.lstrip("'").lstrip("-").replace(".", "", 1).isdigit() for v in guarded)


def test_negative_numbers_stay_numbers_and_negative_looking_text_is_guarded():
    buffer = io.BytesIO()
    columns = [xlsx.Column("金额", "amount"), xlsx.Column("说明", "note")]
    xlsx.write_sheet(
        buffer,
        title="表",
        columns=columns,
        rows=[[-5, "-2+3"], [Decimal("-12.50"), "-"], [-0.25, "@SUM(A1)"]],
        notes=["=notes"],
    )
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = workbook.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert rows == [[-5, "'-2+3"], [-12.5, "'-"], [-0.25, "'@SUM(A1)"]]
    assert all(sheet.cell(row=r, column=1).data_type == "n" for r in (2, 3, 4))
    assert "'=notes" in [c.value for row in workbook[xlsx.NOTES_SHEET].iter_rows() for c in row]
