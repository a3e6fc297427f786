import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guatu.core.models import ChangeRecord, ImportJob
from guatu.core.testing import make_project, project_code
from guatu.projects.io import columns
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db

HEADERS = [c.title for c in columns()]
IMPORT_URL = reverse("core:import", args=["projects"])


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def xlsx_upload(*rows, name="项目.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    for values in rows:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def good_row(code=None, region="双塔区", **changes):
    values = [code or project_code("211302"), "双塔区风电装备产业园", "朝阳测试实业有限公司", region, "新能源",
              "产业", "新建", 52000, 20000, "2026-04-01", "2027-10-01", "", "张副市长", None, None]  # fmt: skip
    for header, value in changes.items():
        values[[h.rstrip("*") for h in HEADERS].index(header)] = value
    return values


def upload(client, user, file):
    client.force_login(user)
    response = client.post(IMPORT_URL, {"file": file})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert response["Location"] == reverse("core:import_job", args=[job.pk])
    return job


def test_import_page_offers_the_form_and_the_template(client, world):
    client.force_login(world.users["city"])
    page = client.get(IMPORT_URL)
    assert page.status_code == 200
    html = page.content.decode()
    template_url = reverse("core:import_template", args=["projects"])
    assert template_url in html and 'enctype="multipart/form-data"' in html
    download = client.get(template_url)
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in download["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))["项目"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert len(sheet.data_validations.dataValidation) == 5


def test_dry_run_page_lists_every_bad_row_and_writes_nothing(client, world):
    before = Project.objects.count(), ChangeRecord.objects.count()
    file = xlsx_upload(
        good_row(),
        good_row(**{"总投资(万元)": -5}),
        good_row(项目代码="2026-211302-44-01-12345"),
        good_row(所在地区="沈阳市"),
    )
    job = upload(client, world.users["city"], file)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID and not job.commit
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "总投资(万元)"),
        (4, "项目代码"),
        (5, "所在地区"),
    ]
    html = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert 'id="import-errors"' in html
    for text in (
        "第3行",
        "总投资(万元)",
        "投资额不能为负数",
        "第4行",
        "格式不对",
        "2026-211302-44-01-12345",
        "沈阳市",
    ):
        assert text in html
    assert "确认导入" not in html
    assert (Project.objects.count(), ChangeRecord.objects.count()) == before


def test_validated_upload_is_committed_only_after_confirmation(client, world):
    existing = make_project(world, name="旧名称")
    job = upload(client, world.users["city"], xlsx_upload(good_row(), good_row(code=existing.code)))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.created_count, job.updated_count, job.total, job.done) == (1, 1, 2, 2)
    page = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "确认导入" in page and "将新增 1 个，更新 1 个" in page
    assert Project.objects.count() == 1

    response = client.post(reverse("core:import_job_commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED and job.commit
    assert Project.objects.count() == 2
    existing.refresh_from_db()
    assert existing.name == "双塔区风电装备产业园"
    records = ChangeRecord.objects.filter(request_id=f"import-{job.pk}", content_type__model="project")
    assert sorted(records.values_list("action", flat=True)) == ["create", "update"]
    page = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "导入完成：新增 1 个，更新 1 个" in page

    # A second click does not import twice.
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    assert Project.objects.count() == 2 and records.count() == 2


def test_county_user_importing_a_row_of_another_county_gets_a_row_error(client, world):
    before = Project.objects.count(), ChangeRecord.objects.count()
    file = xlsx_upload(good_row(), good_row(code=project_code("211303"), region="龙城区"))
    job = upload(client, world.users["county"], file)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    [error] = job.errors
    assert (error["row"], error["column"]) == (3, "所在地区") and "无权在“龙城区”新建项目" in error["message"]
    # The job cannot be committed, and nothing was written.
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    assert (Project.objects.count(), ChangeRecord.objects.count()) == before


@pytest.mark.parametrize("role", ["leader", "department", "enterprise", "steward", "sysadmin", "auditor"])
def test_users_without_import_permission_get_403(client, world, role):
    client.force_login(world.users[role])
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(reverse("core:import_template", args=["projects"])).status_code == 403
    assert client.post(IMPORT_URL, {"file": xlsx_upload(good_row())}).status_code == 403
    assert ImportJob.objects.count() == 0 and Project.objects.count() == 0


def test_anonymous_users_are_sent_to_login_and_unknown_kinds_are_404(client, world):
    response = client.get(IMPORT_URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(world.users["city"])
    assert client.get(reverse("core:import", args=["nothing"])).status_code == 404


def test_a_job_is_visible_only_to_who_uploaded_it(client, world):
    job = upload(client, world.users["county"], xlsx_upload(good_row()))
    for other in ("other_county", "city"):
        client.force_login(world.users[other])
        assert client.get(reverse("core:import_job", args=[job.pk])).status_code == 404
        assert client.post(reverse("core:import_job_commit", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED and Project.objects.count() == 0


def test_progress_partial_polls_while_running_and_reloads_when_done(client, world):
    client.force_login(world.users["city"])
    job = ImportJob.objects.create(
        kind="projects", filename="大文件.xlsx", status=ImportJob.Status.RUNNING, total=400, done=100,
        created_by=world.users["city"],
    )  # fmt: skip
    url = reverse("core:import_job_progress", args=[job.pk])
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'hx-get="{url}"' in html and 'hx-trigger="every 1s"' in html
    assert "width: 25%" in html and "100 / 400" in html
    page = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert f'hx-get="{url}"' in page
    job.status, job.done = ImportJob.Status.VALIDATED, 400
    job.save()
    response = client.get(url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true" and "hx-get" not in response.content.decode()


def test_oversized_upload_is_refused_before_it_is_stored(client, world, settings):
    settings.IMPORT_MAX_BYTES = 1000
    client.force_login(world.users["city"])
    response = client.post(IMPORT_URL, {"file": xlsx_upload(good_row())})
    assert response.status_code == 400
    assert "超过上限" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_a_text_file_renamed_xlsx_gives_a_clear_message(client, world):
    file = SimpleUploadedFile("项目.xlsx", "项目代码,项目名称\n".encode())
    job = upload(client, world.users["city"], file)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    html = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "不是 Excel 工作簿" in html and "整个文件" in html
    assert Project.objects.count() == 0


def test_an_unexpected_failure_marks_the_job_failed_and_writes_nothing(client, world, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("guatu.projects.io._RowWriter.write", lambda self, row: explode())
    job = upload(client, world.users["city"], xlsx_upload(good_row()))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "未写入任何数据" in job.message
    assert Project.objects.count() == 0


class FakeTask:
    def __init__(self):
        self.enqueued, self.called = [], []

    def enqueue(self, **kwargs):
        self.enqueued.append(kwargs)

    def call(self, **kwargs):
        self.called.append(kwargs)


def test_large_files_go_to_the_background_worker_and_small_ones_run_at_once(
    client, world, settings, monkeypatch
):
    from guatu.core import imports

    real, fake = imports.run_import_job, FakeTask()
    monkeypatch.setattr(imports, "run_import_job", fake)
    small = upload(client, world.users["city"], xlsx_upload(good_row(), good_row()))
    assert fake.called == [{"job_id": small.pk}] and fake.enqueued == []

    settings.IMPORT_BACKGROUND_ROWS = 1
    job = upload(client, world.users["city"], xlsx_upload(good_row(), good_row()))
    assert fake.enqueued == [{"job_id": job.pk}]
    job.refresh_from_db()
    assert (job.status, job.total) == (ImportJob.Status.QUEUED, 2)
    page = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert reverse("core:import_job_progress", args=[job.pk]) in page and "确认导入" not in page

    real.call(job_id=job.pk)  # what `guatu db_worker` does
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED and job.done == 2
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    assert fake.enqueued[-1] == {"job_id": job.pk} and Project.objects.count() == 0
    real.call(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED and Project.objects.count() == 2
    assert real.call(job_id=job.pk) == "skipped"  # a job runs once per queueing
