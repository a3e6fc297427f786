"""The 任务分解表 of a speech and of the task list, as .xlsx and .docx, read back."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from guatu.speeches import selectors, services
from guatu.speeches.io import BREAKDOWN_HEADERS, export_breakdown_docx, export_breakdown_xlsx
from guatu.speeches.tests.breakdown_helpers import TODAY, item, plain_speech, task_data

pytestmark = pytest.mark.django_db

TEXT = "今年全市要新开工项目50个以上。4月份全市要组织一次项目集中开工。"


@pytest.fixture
def reviewed(world):
    """A speech with one accepted target, one accepted task and one rejected item."""
    city = world.users["city"]
    speech = plain_speech(TEXT)
    target_item = item(speech, end=14)
    services.item_accept(actor=city, item_id=target_item.pk, version=1, data={"target_metric": "started"})
    task_item = item(
        speech, kind="task", metric="组织一次项目集中开工", value=None, unit="", comparator="", period="2026-04",
        deadline=dt.date(2026, 4, 30), start=15, end=len(TEXT),
    )  # fmt: skip
    services.item_accept(
        actor=city, item_id=task_item.pk, version=1,
        data={"owner_unit": world.department.pk, "supporting_units": [world.other_department.pk],
              "lead_leader": "副市长 王五"},
        today=TODAY,
    )  # fmt: skip
    dropped = item(speech, metric="去年完成", start=0, end=3)
    services.item_reject(actor=city, item_id=dropped.pk, version=1, reason="事实，不是目标")
    return speech


def test_breakdown_rows_of_a_speech(world, reviewed):
    rows = selectors.breakdown_rows(user=world.users["city"], speech=reviewed)
    assert [r.number for r in rows] == [1, 2]
    target, task = rows
    assert target.measure == "开工项目数 ≥ 50（2026）" and target.owner == "朝阳市"
    assert target.deadline == dt.date(2026, 12, 31)
    assert (task.task, task.owner, task.supporting, task.lead_leader, task.deadline) == (
        "组织一次项目集中开工", "市发展和改革委员会", "市商务局", "副市长 王五", dt.date(2026, 4, 30)
    )  # fmt: skip


def test_xlsx_export_reads_back(world, reviewed):
    buffer = io.BytesIO()
    export_breakdown_xlsx(selectors.breakdown_rows(user=world.users["city"], speech=reviewed), buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    assert sheet.title == "任务分解表"
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == list(BREAKDOWN_HEADERS)
    assert values[2][:6] == [2, "组织一次项目集中开工", None, "副市长 王五", "市发展和改革委员会", "市商务局"]
    assert values[2][6].date() == dt.date(2026, 4, 30)
    assert len(values) == 3


def test_docx_export_reads_back(world, reviewed):
    buffer = io.BytesIO()
    rows = selectors.breakdown_rows(user=world.users["city"], speech=reviewed)
    export_breakdown_docx(rows, buffer, title="任务分解表", source="在全市测试大会上的讲话，市长，2026-01-10")
    document = Document(io.BytesIO(buffer.getvalue()))
    paragraphs = [p.text for p in document.paragraphs if p.text]
    assert paragraphs[:2] == ["任务分解表", "来源：在全市测试大会上的讲话，市长，2026-01-10"]
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == list(BREAKDOWN_HEADERS)
    assert [c.text for c in table.rows[1].cells][:3] == ["1", "新开工项目", "开工项目数 ≥ 50（2026）"]
    assert [c.text for c in table.rows[2].cells] == [
        "2", "组织一次项目集中开工", "", "副市长 王五", "市发展和改革委员会", "市商务局", "2026-04-30"
    ]  # fmt: skip


def test_formula_like_cells_are_neutralised(world):
    services.task_create(
        actor=world.users["city"], data=task_data(world, title='=HYPERLINK("x")'), today=TODAY
    )
    services.task_create(
        actor=world.users["city"], data=task_data(world, title="正常任务", lead_leader="@副市长"), today=TODAY
    )
    buffer = io.BytesIO()
    export_breakdown_xlsx(selectors.breakdown_rows(user=world.users["city"]), buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    cells = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    assert '\'=HYPERLINK("x")' in cells and "'@副市长" in cells
    assert not any(isinstance(v, str) and v.startswith(("=", "@")) for v in cells)


def test_export_pages(client, world, reviewed):
    client.force_login(world.users["department"])
    response = client.get(reverse("speeches:breakdown_export", args=[reviewed.pk, "docx"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    document = Document(io.BytesIO(response.content))
    assert document.paragraphs[1].text.startswith("来源：在全市测试大会上的讲话")
    services.task_create(
        actor=world.users["city"], data=task_data(world, title="另一项", category="项目建设"), today=TODAY
    )
    response = client.get(reverse("speeches:task_export", args=["xlsx"]) + "?category=项目建设")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [[c.value for c in row][1] for row in sheet.iter_rows(min_row=2)] == ["另一项"]
    assert client.get(reverse("speeches:task_export", args=["pdf"])).status_code == 404
    client.force_login(world.users["sysadmin"])
    assert client.get(reverse("speeches:task_export", args=["xlsx"])).status_code == 403


def test_review_table_page_and_accept_through_the_form(client, world):
    speech = plain_speech(TEXT)
    row = item(speech, end=14)
    other = item(speech, metric="重复", start=1, end=5)
    client.force_login(world.users["city"])
    url = reverse("speeches:speech_breakdown", args=[speech.pk])
    html = client.get(url).content.decode()
    assert "新开工项目" in html and reverse("speeches:item_accept", args=[row.pk]) in html
    assert "≥ 50 个" in html
    assert reverse("speeches:speech_extract", args=[speech.pk]) in html
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and "新开工项目" in fragment
    response = client.post(
        reverse("speeches:item_accept", args=[row.pk]),
        {f"a{row.pk}-version": 1, f"a{row.pk}-mode": "target", f"a{row.pk}-target_metric": "started",
         f"a{row.pk}-scope": "r:211300", f"a{row.pk}-period": ""},
    )  # fmt: skip
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.target.value == Decimal(50)
    stale = client.post(
        reverse("speeches:item_reject", args=[other.pk]),
        {f"r{other.pk}-version": 9, f"r{other.pk}-reason": "重复"},
    )
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()
    missing = client.post(reverse("speeches:item_reject", args=[other.pk]), {f"r{other.pk}-version": 1})
    assert missing.status_code == 400 and "驳回须填写理由" in missing.content.decode()
    client.force_login(world.users["department"])
    html = client.get(url).content.decode()
    assert reverse("speeches:item_accept", args=[other.pk]) not in html  # readers see, do not review
    assert client.post(reverse("speeches:item_reject", args=[other.pk]), {f"r{other.pk}-version": 1,
                       f"r{other.pk}-reason": "x"}).status_code == 403  # fmt: skip


def test_extract_button_runs_extraction(client, world):
    speech = plain_speech(TEXT)
    client.force_login(world.users["city"])
    response = client.post(reverse("speeches:speech_extract", args=[speech.pk]))
    assert response.status_code == 302
    assert speech.items.filter(kind="target", value=50).exists()
    client.force_login(world.users["county"])
    assert client.post(reverse("speeches:speech_extract", args=[speech.pk])).status_code == 403


def test_the_speech_page_loads_the_review_table(client, world):
    from guatu.speeches.tests.breakdown_helpers import seed_speech

    speech = seed_speech(world.users["city"])
    client.force_login(world.users["city"])
    html = client.get(reverse("speeches:speech_detail", args=[speech.pk])).content.decode()
    assert f'hx-get="{reverse("speeches:speech_breakdown", args=[speech.pk])}"' in html
    services.speech_extract(actor=world.users["city"], speech_id=speech.pk)
    html = client.get(reverse("speeches:speech_breakdown", args=[speech.pk])).content.decode()
    assert "120 个" in html and "≥ 200 个" in html and "组织一次项目集中开工" in html


def test_item_edit_page(client, world):
    speech = plain_speech(TEXT)
    row = item(speech, end=14)
    client.force_login(world.users["city"])
    url = reverse("speeches:item_edit", args=[row.pk])
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"version": 1, "kind": "target", "metric": "新开工项目", "value": "50", "comparator": "range"}
    )
    assert bad.status_code == 400 and "区间须填写数值和不小于数值的上限" in bad.content.decode()
    done = client.post(
        url, {"version": 1, "kind": "target", "metric": "新开工项目", "value": "60", "unit": "个", "comparator": ">=",
              "period": "2026"},
    )  # fmt: skip
    assert done.status_code == 302
    row.refresh_from_db()
    assert row.value == Decimal(60) and row.version == 2
    client.force_login(world.users["leader"])
    assert client.get(url).status_code == 403


def test_task_add_and_edit_pages(client, world):
    client.force_login(world.users["city"])
    response = client.post(
        reverse("speeches:task_add"),
        {"title": "优化水电气暖报装", "owner_unit": world.department.pk, "supporting_units": [world.other_department.pk],
         "deadline": "2099-06-30", "category": "营商环境", "lead_leader": "副市长 王五"},
    )  # fmt: skip
    assert response.status_code == 302
    from guatu.speeches.models import SupervisedTask

    task = SupervisedTask.objects.get()
    assert response["Location"] == reverse("speeches:task_detail", args=[task.pk])
    edit = reverse("speeches:task_edit", args=[task.pk])
    assert client.get(edit).status_code == 200
    stale = client.post(
        edit, {"version": 7, "title": "改", "owner_unit": world.department.pk, "deadline": "2099-06-30"}
    )
    assert stale.status_code == 409
    past = client.post(
        edit, {"version": 1, "title": "改", "owner_unit": world.department.pk, "deadline": "2000-01-01"}
    )
    assert past.status_code == 400 and "早于今天" in past.content.decode()
    client.force_login(world.users["department"])
    assert client.get(reverse("speeches:task_add")).status_code == 403


def test_review_table_query_count_does_not_grow_with_items(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    speech = plain_speech(TEXT)
    item(speech, end=14)
    client.force_login(world.users["city"])
    url = reverse("speeches:speech_breakdown", args=[speech.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(10):
        item(speech, metric=f"指标{n}", start=n, end=n + 2)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert html.count("/accept/") == 11
    assert len(many) == len(few)
