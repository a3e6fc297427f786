"""Excel import of a task list (the 92 营商环境 tasks): dry run, all or nothing, row and column named."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from guatu.core.models import ChangeRecord
from guatu.org.models import Unit
from guatu.speeches.io import import_tasks
from guatu.speeches.models import SupervisedTask
from guatu.speeches.tests.breakdown_helpers import TODAY

pytestmark = pytest.mark.django_db

HEADERS = ["序号", "任务", "牵头领导", "牵头单位", "责任单位", "完成时限", "类别"]
UNITS = [
    "市营商局",
    "市市场监管局",
    "市自然资源局",
    "市住建局",
    "市税务局",
    "市人社局",
    "市发展和改革委员会",
    "市商务局",
]
ACTIONS = [
    "压缩企业开办时间至{n}个工作日以内",
    "推行工程建设项目审批“一张表单”第{n}批事项",
    "实现不动产登记{n}个工作日办结",
    "清理规范涉企收费第{n}项",
    "推进政务服务“一网通办”第{n}类事项",
    "开展“办好一件事”集成服务第{n}项",
    "落实惠企政策“免申即享”第{n}条",
    "建立重点项目“项目管家”第{n}组",
    "推行“证照分离”改革第{n}项",
    "优化水电气暖报装服务第{n}项",
    "开展营商环境“体验官”活动第{n}期",
    "健全涉企问题“直通车”办理第{n}项",
]
LEADERS = ["副市长 王五", "副市长 赵六", "常务副市长 孙七"]


@pytest.fixture
def units(world):
    made = {u.name: u for u in (world.department, world.other_department)}
    for name in UNITS:
        if name not in made:
            made[name] = Unit.objects.create(name=name, kind=Unit.Kind.DEPARTMENT, region=world.city)
    return made


def task_rows(count: int = 92) -> list[list]:
    rows = []
    for n in range(1, count + 1):
        owner = UNITS[n % len(UNITS)]
        supporting = "、".join(
            u for u in (UNITS[(n + 1) % len(UNITS)], UNITS[(n + 3) % len(UNITS)]) if u != owner
        )
        rows.append([
            n, ACTIONS[n % len(ACTIONS)].format(n=n), LEADERS[n % len(LEADERS)], owner, supporting,
            dt.date(2026, 3 + n % 9, 28), "营商环境",
        ])  # fmt: skip
    return rows


def workbook(rows: list[list]) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def run(world, rows, *, commit: bool):
    return import_tasks(actor=world.users["city"], path=workbook(rows), commit=commit, today=TODAY)


def test_dry_run_of_92_tasks_writes_nothing(world, units):
    changes = ChangeRecord.objects.count()
    result = run(world, task_rows(), commit=False)
    assert result.ok and result.total == 92 and result.created == 92
    assert SupervisedTask.objects.count() == 0 and ChangeRecord.objects.count() == changes


def test_import_of_92_tasks(world, units):
    result = run(world, task_rows(), commit=True)
    assert result.ok and result.created == 92
    assert SupervisedTask.objects.count() == 92
    first = SupervisedTask.objects.get(code="1")
    assert first.title == ACTIONS[1].format(n=1)
    assert first.owner_unit.name == UNITS[1] and first.category == "营商环境"
    assert sorted(u.name for u in first.supporting_units.all()) == sorted([UNITS[2], UNITS[4]])
    assert first.deadline == dt.date(2026, 4, 28) and first.lead_leader == LEADERS[1]
    assert first.status.code == "assigned"
    # Importing the same sheet again changes nothing; a changed row is updated in place.
    again = task_rows()
    again[0][1] = "压缩企业开办时间至0.5个工作日"
    result = run(world, again, commit=True)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 91)
    assert SupervisedTask.objects.count() == 92
    assert SupervisedTask.objects.get(code="1").title == "压缩企业开办时间至0.5个工作日"


def test_one_bad_row_writes_nothing_and_names_row_and_column(world, units):
    rows = task_rows()
    rows[49][3] = "市不存在局"  # sheet row 51
    rows[60][5] = "下个月"  # sheet row 62
    rows[70][4] = "市住建局、市虚构办"  # sheet row 72
    result = run(world, rows, commit=True)
    assert not result.ok and result.created == 0
    assert SupervisedTask.objects.count() == 0
    messages = [str(e) for e in result.errors]
    assert [(e.row, e.column) for e in result.errors] == [
        (51, "牵头单位"),
        (62, "完成时限"),
        (72, "责任单位"),
    ]
    assert messages[0].startswith("第51行，“牵头单位”列：未知牵头单位")
    assert "“市虚构办”" in messages[2]


def test_a_service_refusal_lands_on_its_row(world, units):
    rows = task_rows(5)
    rows[2][5] = dt.date(2025, 1, 1)  # before today
    rows[3][4] = rows[3][3]  # the owner listed as supporting too
    result = run(world, rows, commit=True)
    assert SupervisedTask.objects.count() == 0
    found = {(e.row, e.column): e.message for e in result.errors}
    assert "早于今天" in found[(4, "完成时限")]
    assert "与牵头单位相同" in found[(5, "责任单位")]


def test_duplicate_numbers_are_refused(world, units):
    rows = task_rows(3)
    rows[2][0] = 1
    result = run(world, rows, commit=False)
    assert [(e.row, e.column) for e in result.errors] == [(4, "序号")]
    assert "与第2行重复" in result.errors[0].message


def test_only_the_project_office_imports(world, units):
    result = import_tasks(actor=world.users["county"], path=workbook(task_rows(2)), commit=True, today=TODAY)
    assert not result.ok and SupervisedTask.objects.count() == 0


def test_template_download_and_import_page(client, world, units):
    client.force_login(world.users["city"])
    response = client.get(reverse("speeches:task_import"))
    assert response.status_code == 302 and response["Location"] == reverse("core:import", args=["tasks"])
    response = client.get(reverse("core:import_template", args=["tasks"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert [c.value for c in sheet[1]] == [
        "序号",
        "任务*",
        "牵头领导",
        "牵头单位*",
        "责任单位",
        "完成时限*",
        "类别",
    ]
    client.force_login(world.users["department"])
    assert client.get(reverse("speeches:task_import")).status_code == 403


def test_import_through_the_job_page(client, world, units):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from guatu.core.models import ImportJob

    rows = task_rows()
    for one in rows:
        one[5] = one[5].replace(year=dt.date.today().year + 1)
    client.force_login(world.users["city"])
    upload = SimpleUploadedFile("营商环境92项.xlsx", workbook(rows).getvalue())
    response = client.post(reverse("core:import", args=["tasks"]), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == ImportJob.Status.VALIDATED
    assert not SupervisedTask.objects.exists()
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED and SupervisedTask.objects.count() == 92
