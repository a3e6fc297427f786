"""Problems: creating and changing them (bad input writes nothing), who sees which, attachments,
the pages, the assessment metrics and the bulletin's overdue list."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, make_user
from guatu.org.models import Unit
from guatu.problems import selectors
from guatu.problems.metrics import problem_days_to_close, problems_overdue
from guatu.problems.models import Notification, Problem, ProblemAttachment, ProblemStep
from guatu.problems.services import attachment_add, problem_act, problem_create, problem_update
from guatu.problems.tests.problem_helpers import TODAY, make_problem, problem_data
from guatu.projects.models import Project
from guatu.targets.bulletin import OverdueProblem, overdue_problems
from guatu.targets.metrics import METRICS, actual
from guatu.targets.periods import Period

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int]:
    return Problem.objects.count(), ProblemStep.objects.count(), ChangeRecord.objects.count()


# ---------------------------------------------------------------- creating


def test_an_enterprise_reports_a_problem_for_the_county_to_hand_out(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        problem = make_problem(world, actor=world.users["enterprise"])
    assert (problem.status.code, problem.level.code, problem.raised_by) == (
        "reported",
        "county",
        world.users["enterprise"],
    )
    assert list(problem.steps.values_list("action", flat=True)) == ["report"]
    assert list(problem.supporting_units.all()) == [world.other_department]
    # The county of the division is told there is something to hand out; the owner not yet.
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"t_shuangta"}


def test_a_governor_hands_out_at_once_and_the_owner_is_told(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        problem = make_problem(world, actor=world.users["county"])
    assert problem.status.code == "assigned"
    assert list(problem.steps.values_list("action", "to_status__code")) == [
        ("report", "reported"),
        ("assign", "assigned"),
    ]
    assert list(Notification.objects.values_list("user__username", "event")) == [("t_fagai", "assignment")]
    assert ChangeRecord.objects.filter(object_id=str(problem.pk), action="create").exists()


def test_a_city_level_project_starts_on_the_department_rung(world):
    project = make_project(world, region=world.city)
    assert make_problem(world, project=project).level.code == "department"


@pytest.mark.parametrize(
    "overrides,field,words",
    [
        ({"owner_unit": None}, "owner_unit", "请选择推进主体"),
        (
            {"due_date": TODAY - dt.timedelta(days=1)},
            "due_date",
            "办结时限 2026-06-14 早于今天（2026-06-15）",
        ),
        ({"owner_unit": 999999}, "owner_unit", "编号为 999999 的单位不存在"),
        ({"supporting_units": [999998]}, "supporting_units", "编号为 999998 的单位不存在"),
        ({"due_date": None}, "due_date", "请填写办结时限"),
        ({"project": None}, "project", "请选择问题所属的项目"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_saved(world, overrides, field, words):
    data = problem_data(world, **overrides)
    before = written()
    with pytest.raises(ValidationError) as refused:
        problem_create(actor=world.users["county"], data=data, today=TODAY)
    assert words in " ".join(refused.value.message_dict[field])
    assert written() == before


def test_a_supporting_unit_equal_to_the_owner_is_refused_by_name(world):
    data = problem_data(world, supporting_units=[world.other_department, world.department])
    before = written()
    with pytest.raises(ValidationError) as refused:
        problem_create(actor=world.users["city"], data=data, today=TODAY)
    assert refused.value.message_dict["supporting_units"] == [
        "配合单位“市发展和改革委员会”与推进主体相同，请从配合单位中去掉"
    ]
    assert written() == before


def test_an_enterprise_cannot_own_a_problem(world):
    with pytest.raises(ValidationError) as refused:
        problem_create(actor=None, data=problem_data(world, owner_unit=world.enterprise), today=TODAY)
    assert "朝阳测试实业有限公司" in refused.value.message_dict["owner_unit"][0]


def test_nobody_raises_a_problem_outside_their_projects(world):
    theirs = problem_data(
        world, project=make_project(world, enterprise=world.other_enterprise, region=world.counties["211303"])
    )
    ours = problem_data(world)
    before = written()
    for role in ("enterprise", "county", "steward"):
        with pytest.raises(PermissionDenied):
            problem_create(actor=world.users[role], data=theirs, today=TODAY)
    for role in ("sysadmin", "auditor"):
        with pytest.raises(PermissionDenied):
            problem_create(actor=world.users[role], data=ours, today=TODAY)
    assert written() == before


def test_a_department_raises_only_what_it_owns(world):
    project = make_project(world, departments=[world.department])
    department = world.users["department"]
    assert problem_create(actor=department, data=problem_data(world, project=project), today=TODAY).pk
    before = written()
    with pytest.raises(PermissionDenied):
        problem_create(
            actor=department,
            data=problem_data(world, project=project, owner_unit=world.other_department, supporting_units=[]),
            today=TODAY,
        )
    assert written() == before


# ---------------------------------------------------------------- changing


def test_a_governor_moves_owner_and_due_date_and_the_new_owner_signs_again(
    world, django_capture_on_commit_callbacks
):
    problem = make_problem(world, status="in_progress")
    commerce = make_user("department", unit=world.other_department, region=world.city)
    with django_capture_on_commit_callbacks(execute=True):
        changed = problem_update(
            actor=world.users["city"],
            problem_id=problem.pk,
            version=problem.version,
            data={
                "owner_unit": world.other_department,
                "supporting_units": [],
                "due_date": TODAY + dt.timedelta(60),
            },
            today=TODAY,
        )
    assert (changed.owner_unit, changed.status.code, changed.version) == (
        world.other_department,
        "assigned",
        problem.version + 1,
    )
    step = changed.steps.latest("id")
    assert (step.action, step.new_owner_unit, step.new_due_date) == (
        "edit",
        world.other_department,
        TODAY + dt.timedelta(60),
    )
    assert (step.from_status.code, step.to_status.code) == ("in_progress", "assigned")
    assert "推进主体" in step.comment and "办结时限" in step.comment
    assert list(Notification.objects.filter(event="assignment").values_list("user", flat=True)) == [
        commerce.pk
    ]


def test_only_a_governor_changes_whose_it_is(world):
    problem = make_problem(world, actor=world.users["enterprise"])
    raiser = world.users["enterprise"]
    changed = problem_update(
        actor=raiser,
        problem_id=problem.pk,
        version=problem.version,
        data={"title": "征收补偿仍有分歧"},
        today=TODAY,
    )
    assert changed.title == "征收补偿仍有分歧"
    with pytest.raises(PermissionDenied) as refused:
        problem_update(
            actor=raiser,
            problem_id=problem.pk,
            version=changed.version,
            data={"due_date": TODAY + dt.timedelta(90)},
            today=TODAY,
        )
    assert "办结时限" in str(refused.value)
    assert Problem.objects.get(pk=problem.pk).due_date == problem.due_date


def test_a_changed_due_date_in_the_past_is_refused_but_an_old_one_may_stay(world):
    problem = make_problem(world)
    later = problem.due_date + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        problem_update(
            actor=world.users["city"],
            problem_id=problem.pk,
            version=problem.version,
            data={"due_date": TODAY - dt.timedelta(days=3)},
            today=TODAY,
        )
    assert "早于今天" in refused.value.message_dict["due_date"][0]
    # Long after its due date, the problem's title can still be corrected.
    changed = problem_update(
        actor=world.users["city"],
        problem_id=problem.pk,
        version=problem.version,
        data={"title": "新标题"},
        today=later,
    )
    assert changed.title == "新标题"


def test_a_closed_problem_is_not_changed(world):
    problem = make_problem(world, status="closed")
    with pytest.raises(Conflict) as refused:
        problem_update(
            actor=world.users["city"], problem_id=problem.pk, version=problem.version, data={"title": "x"}
        )
    assert "已销号" in refused.value.message


def test_a_stale_edit_is_a_conflict(world):
    problem = make_problem(world)
    problem_update(
        actor=world.users["city"], problem_id=problem.pk, version=problem.version, data={"title": "a"}
    )
    with pytest.raises(Conflict):
        problem_update(
            actor=world.users["city"], problem_id=problem.pk, version=problem.version, data={"title": "b"}
        )
    assert Problem.objects.get(pk=problem.pk).title == "a"


# ---------------------------------------------------------------- who sees which


@pytest.fixture
def scoped(world):
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    a = make_problem(
        world,
        project=make_project(world, region=shuangta),
        supporting_units=[world.other_department],
        title="A",
    )
    b = make_problem(
        world,
        project=make_project(world, region=longcheng, enterprise=world.other_enterprise),
        owner_unit=world.other_department,
        supporting_units=[world.department],
        title="B",
    )
    c = make_problem(
        world,
        project=make_project(
            world, region=shuangta, enterprise=world.other_enterprise, steward=world.users["steward"]
        ),
        owner_unit=world.other_department,
        supporting_units=[],
        title="C",
    )
    return {"A": a, "B": b, "C": c}


def _titles(user, action="view") -> set[str]:
    return set(selectors.problem_queryset(user=user, action=action).values_list("title", flat=True))


def test_each_role_sees_exactly_its_problems(world, scoped):
    commerce = make_user("department", unit=world.other_department, region=world.city)
    unrelated_unit = Unit.objects.create(
        name="市住房和城乡建设局", kind=Unit.Kind.DEPARTMENT, region=world.city
    )
    unrelated = make_user("department", unit=unrelated_unit, region=world.city)
    seen = {role: _titles(user) for role, user in world.users.items()}
    assert seen == {
        "city": {"A", "B", "C"},
        "leader": {"A", "B", "C"},
        "county": {"A", "C"},
        "other_county": {"B"},
        "department": {"A", "B"},  # owns A, supports B
        "enterprise": {"A"},
        "steward": {"C"},
        "sysadmin": set(),
        "secadmin": set(),
        "auditor": set(),
    }
    assert _titles(commerce) == {"A", "B", "C"}  # supports A, owns B and C
    assert _titles(unrelated) == set()
    # A supporting unit reads; only the owner's users may change.
    assert _titles(world.users["department"], "change") == {"A"}
    assert selectors.problem_queryset(user=world.users["department"]).count() == 2  # each once


# ---------------------------------------------------------------- attachments


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


@pytest.mark.parametrize(
    "name,content", [("征收协议.pdf", PDF), ("会议纪要.docx", _docx()), ("现场.png", PNG)]
)
def test_an_attachment_is_kept_with_its_name_and_a_timeline_step(world, media, name, content):
    problem = make_problem(world)
    upload = SimpleUploadedFile(name, content)
    attachment = attachment_add(actor=world.users["department"], problem_id=problem.pk, upload=upload)
    # A picture is stored re-encoded, so its size is that of the stored file.
    assert (attachment.name, attachment.size) == (name, attachment.file.size)
    assert attachment.size == len(content) or name.endswith(".png")
    assert attachment.file.name.startswith("problems/") and name not in attachment.file.name
    assert problem.steps.filter(action="attach", comment=name).exists()
    assert Problem.objects.get(pk=problem.pk).version == problem.version  # a file is its own row


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("说明.pdf", b"MZ\x90\x00 not a pdf", "只接受 PDF"),
        ("图片.pdf", PNG, "扩展名须与内容一致"),
        ("脚本.exe", PDF, "只接受 PDF"),
        ("表格.xlsx", _docx(), "扩展名须与内容一致"),
    ],
)
def test_an_attachment_of_the_wrong_type_is_refused(world, media, name, content, words):
    problem = make_problem(world)
    with pytest.raises(ValidationError) as refused:
        attachment_add(
            actor=world.users["department"], problem_id=problem.pk, upload=SimpleUploadedFile(name, content)
        )
    assert words in refused.value.message_dict["file"][0] and name in refused.value.message_dict["file"][0]
    assert not ProblemAttachment.objects.exists()
    assert not list(media.rglob("*.*"))


def test_an_attachment_over_the_size_limit_is_refused(world, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    problem = make_problem(world)
    big = SimpleUploadedFile("大文件.pdf", PDF + b"0" * (1024 * 1024))
    with pytest.raises(ValidationError) as refused:
        attachment_add(actor=world.users["department"], problem_id=problem.pk, upload=big)
    assert "超过上限 1 MB" in refused.value.message_dict["file"][0]
    assert not ProblemAttachment.objects.exists()


def test_a_supporting_unit_reads_but_does_not_attach(world, media):
    problem = make_problem(world)
    commerce = make_user("department", unit=world.other_department, region=world.city)
    with pytest.raises(PermissionDenied):
        attachment_add(actor=commerce, problem_id=problem.pk, upload=SimpleUploadedFile("a.pdf", PDF))


def test_attachments_are_served_only_within_scope(world, media, client):
    problem = make_problem(world)
    attachment = attachment_add(actor=None, problem_id=problem.pk, upload=SimpleUploadedFile("协议.pdf", PDF))
    url = reverse("problems:attachment_download", args=[attachment.pk])
    client.force_login(world.users["county"])
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    client.force_login(world.users["other_county"])
    assert client.get(url).status_code == 404
    client.force_login(world.users["auditor"])
    assert client.get(url).status_code == 404


def test_the_page_refuses_an_oversized_upload_and_says_why(world, media, client, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    problem = make_problem(world)
    client.force_login(world.users["department"])
    big = SimpleUploadedFile("大文件.pdf", PDF + b"0" * (1024 * 1024))
    response = client.post(reverse("problems:problem_attach", args=[problem.pk]), {"file": big})
    assert response.status_code == 400
    assert "超过上限 1 MB" in response.content.decode()
    assert not ProblemAttachment.objects.exists()


# ---------------------------------------------------------------- pages


def test_the_list_page_shows_overdue_days_and_the_rung(world, client):
    make_problem(
        world,
        title="用地指标未落实",
        due_date=timezone.localdate() - dt.timedelta(days=5),
        today=TODAY.replace(year=2000),
    )
    make_problem(
        world,
        title="电力增容未批复",
        category="utilities",
        level="direct_line",
        due_date=timezone.localdate() + dt.timedelta(days=30),
    )
    client.force_login(world.users["county"])
    page = client.get(reverse("problems:problem_list")).content.decode()
    assert "用地指标未落实" in page and "逾期 5 天" in page and "书记市长直通车" in page
    filtered = client.get(reverse("problems:problem_list"), {"overdue": "true"}).content.decode()
    assert "用地指标未落实" in filtered and "电力增容未批复" not in filtered
    by_rung = client.get(reverse("problems:problem_list"), {"escalation": "direct_line"}).content.decode()
    assert "电力增容未批复" in by_rung and "用地指标未落实" not in by_rung


def test_the_navbar_offers_problems_to_business_roles_and_the_direct_line_to_leaders(world, client):
    for role, direct in (("city", True), ("leader", True), ("county", False), ("enterprise", False)):
        client.force_login(world.users[role])
        page = client.get(reverse("problems:problem_list")).content.decode()
        assert reverse("problems:problem_list") in page
        assert (reverse("problems:direct_line") in page) is direct, role
    client.force_login(world.users["auditor"])
    assert client.get(reverse("problems:problem_list")).status_code == 403


def test_the_detail_page_offers_the_owner_its_steps_and_records_them(world, client):
    problem = make_problem(world)
    client.force_login(world.users["department"])
    page = client.get(problem.get_absolute_url()).content.decode()
    assert reverse("problems:problem_act", args=[problem.pk, "accept"]) in page
    assert reverse("problems:problem_act", args=[problem.pk, "assign"]) not in page
    response = client.post(
        reverse("problems:problem_act", args=[problem.pk, "accept"]),
        {"accept-version": problem.version, "accept-comment": "收到"},
    )
    assert response.status_code == 302
    problem.refresh_from_db()
    assert problem.status.code == "accepted"
    page = client.get(problem.get_absolute_url()).content.decode()
    assert "收到" in page and "签收" in page


def test_the_detail_page_says_why_a_step_is_refused(world, client):
    problem = make_problem(world, status="in_progress")
    client.force_login(world.users["department"])
    response = client.post(
        reverse("problems:problem_act", args=[problem.pk, "resolve"]),
        {"resolve-version": problem.version, "resolve-comment": ""},
    )
    assert response.status_code == 400
    assert "须填写理由" in response.content.decode()
    response = client.post(
        reverse("problems:problem_act", args=[problem.pk, "accept"]), {"accept-version": problem.version}
    )
    assert response.status_code == 409
    assert "问题当前为“办理中”，不能“签收”" in response.content.decode()


def test_a_problem_is_raised_from_the_project_page(world, client):
    project = make_project(world)
    client.force_login(world.users["county"])
    page = client.get(project.get_absolute_url()).content.decode()
    assert f"{reverse('problems:problem_add')}?project={project.pk}" in page
    form = client.get(reverse("problems:problem_add"), {"project": project.pk}).content.decode()
    assert f'<option value="{project.pk}" selected>' in form
    due = timezone.localdate() + dt.timedelta(days=20)
    response = client.post(
        reverse("problems:problem_add"),
        {
            "project": project.pk,
            "title": "施工用电未接入",
            "category": "utilities",
            "owner_unit": world.department.pk,
            "supporting_units": [world.other_department.pk],
            "due_date": due.isoformat(),
        },
    )
    problem = Problem.objects.get(title="施工用电未接入")
    assert response.status_code == 302 and response["Location"] == problem.get_absolute_url()
    assert (problem.status.code, problem.due_date) == ("assigned", due)
    card = client.get(project.get_absolute_url()).content.decode()
    assert "施工用电未接入" in card


@pytest.mark.parametrize(
    "change,field_words",
    [
        ({"owner_unit": ""}, "请选择推进主体"),
        ({"owner_unit": "999999"}, "推进主体：编号为 999999 的单位不存在或不可选"),
        ({"due_date": "2000-01-01"}, "办结时限 2000-01-01 早于今天"),
        ({"supporting_units": ["OWNER"]}, "与推进主体相同"),
    ],
)
def test_the_form_refuses_bad_input_and_saves_nothing(world, client, change, field_words):
    project = make_project(world)
    client.force_login(world.users["county"])
    data = {
        "project": project.pk,
        "title": "施工用电未接入",
        "category": "utilities",
        "owner_unit": world.department.pk,
        "due_date": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
    }
    data.update(change)
    if data.get("supporting_units") == ["OWNER"]:
        data["supporting_units"] = [world.department.pk]
    before = written()
    response = client.post(reverse("problems:problem_add"), data)
    assert response.status_code == 400
    assert field_words in response.content.decode()
    assert written() == before


def test_the_direct_line_inbox_is_for_leaders_and_the_project_office(world, client):
    problem = make_problem(world, level="direct_line", title="环评批复迟迟未下")
    Problem.objects.filter(pk=problem.pk).update(escalated_at=timezone.now() - dt.timedelta(days=4))
    make_problem(world, title="县里能协调的问题")
    for role in ("leader", "city"):
        client.force_login(world.users[role])
        page = client.get(reverse("problems:direct_line")).content.decode()
        assert "环评批复迟迟未下" in page and "县里能协调的问题" not in page
        assert "上升直通车后 4 天" in page
        assert reverse("problems:problem_instruct", args=[problem.pk]) in page
    for role in ("county", "department", "enterprise", "auditor"):
        client.force_login(world.users[role])
        assert client.get(reverse("problems:direct_line")).status_code == 403, role


def test_a_leader_instructs_from_the_inbox(world, client):
    problem = make_problem(world, level="direct_line")
    client.force_login(world.users["leader"])
    new_due = timezone.localdate() + dt.timedelta(days=10)
    prefix = f"p{problem.pk}"
    response = client.post(
        reverse("problems:problem_instruct", args=[problem.pk]),
        {
            "from": "direct_line",
            f"{prefix}-version": problem.version,
            f"{prefix}-instruction": "请市发改委十日内办结",
            f"{prefix}-new_due_date": new_due.isoformat(),
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("problems:direct_line")
    problem.refresh_from_db()
    assert problem.due_date == new_due
    response = client.post(
        reverse("problems:problem_instruct", args=[problem.pk]),
        {"from": "direct_line", f"{prefix}-version": problem.version, f"{prefix}-instruction": ""},
    )
    assert response.status_code == 400 and "请填写批示内容" in response.content.decode()


# ---------------------------------------------------------------- metrics and the bulletin


def _dated(problem: Problem, *, created: dt.datetime, closed: dt.datetime | None = None) -> None:
    Problem.objects.filter(pk=problem.pk).update(created_at=created, closed_at=closed)


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_the_metrics_join_the_catalogue(world):
    assert str(METRICS["problems_overdue"].name) == "逾期未办结问题数"
    assert str(METRICS["problem_days_to_close"].name) == "问题平均办结天数"


def test_overdue_problems_are_counted_as_they_stood_at_the_period_end(world):
    project = make_project(world)
    q2 = Period.parse("2026Q2")  # ends 2026-06-30
    late_open = make_problem(world, project=project, due_date=dt.date(2026, 6, 1))
    late_closed_later = make_problem(world, project=project, due_date=dt.date(2026, 6, 10), status="closed")
    _dated(late_closed_later, created=_at(dt.date(2026, 5, 1)), closed=_at(dt.date(2026, 7, 5)))
    closed_in_time = make_problem(world, project=project, due_date=dt.date(2026, 6, 10), status="closed")
    _dated(closed_in_time, created=_at(dt.date(2026, 5, 1)), closed=_at(dt.date(2026, 6, 9)))
    make_problem(world, project=project, due_date=dt.date(2026, 7, 20))  # not yet due
    raised_after = make_problem(world, project=project, due_date=dt.date(2026, 6, 2))
    _dated(raised_after, created=_at(dt.date(2026, 7, 2)))
    _dated(late_open, created=_at(dt.date(2026, 5, 1)))
    longcheng = world.counties["211303"]
    other = make_problem(
        world,
        project=make_project(world, region=longcheng),
        due_date=dt.date(2026, 6, 1),
        owner_unit=world.other_department,
        supporting_units=[],
    )
    _dated(other, created=_at(dt.date(2026, 5, 1)))
    shuangta = world.counties["211302"]
    assert problems_overdue(shuangta, None, q2, dt.date(2026, 8, 1)) == Decimal(2)
    # Mid-period, as of today: only what was already late then.
    assert problems_overdue(shuangta, None, q2, dt.date(2026, 6, 5)) == Decimal(1)
    # The city counts every division's; a unit counts the problems it owns (推进主体).
    assert actual("problems_overdue", Project.objects.none(), q2, dt.date(2026, 8, 1), region=world.city) == 3
    assert (
        actual("problems_overdue", Project.objects.none(), q2, dt.date(2026, 8, 1), unit=world.department)
        == 2
    )
    owned_elsewhere = actual(
        "problems_overdue", Project.objects.none(), q2, dt.date(2026, 8, 1), unit=world.other_department
    )
    assert owned_elsewhere == 1


def test_days_to_close_average_the_problems_closed_in_the_period(world):
    project = make_project(world)
    q2 = Period.parse("2026Q2")
    region = project.region
    assert problem_days_to_close(region, None, q2, dt.date(2026, 8, 1)) is None
    for created, closed in (
        (dt.date(2026, 3, 20), dt.date(2026, 4, 9)),  # 20 days
        (dt.date(2026, 5, 1), dt.date(2026, 5, 6)),  # 5 days
        (dt.date(2026, 6, 1), dt.date(2026, 7, 3)),  # closed after the period: not counted
    ):
        problem = make_problem(world, project=project, status="closed")
        _dated(problem, created=_at(created), closed=_at(closed))
    reopened = make_problem(world, project=project, status="in_progress")
    _dated(reopened, created=_at(dt.date(2026, 4, 1)))
    assert problem_days_to_close(region, None, q2, dt.date(2026, 8, 1)) == Decimal("12.5")
    assert problem_days_to_close(None, world.department, q2, dt.date(2026, 8, 1)) == Decimal("12.5")
    assert problem_days_to_close(None, world.other_department, q2, dt.date(2026, 8, 1)) is None
    # Up to 30 April only the first counts.
    assert problem_days_to_close(region, None, q2, dt.date(2026, 4, 30)) == Decimal("20.0")


def test_the_bulletin_lists_the_overdue_problems_worst_first(world):
    today = dt.date(2026, 7, 10)
    make_problem(world, title="资金拨付滞后", due_date=dt.date(2026, 7, 1), lead_leader="副市长王海涛")
    make_problem(world, title="用地征收补偿未谈妥", due_date=dt.date(2026, 6, 20))
    make_problem(world, title="已销号的问题", due_date=dt.date(2026, 6, 1), status="closed")
    make_problem(world, title="未到期的问题", due_date=dt.date(2026, 7, 30))
    rows = overdue_problems(user=world.users["leader"], period=Period.parse("2026Q2"), today=today)
    assert rows[0] == OverdueProblem(
        title="用地征收补偿未谈妥",
        project=rows[0].project,
        region="双塔区",
        owner="市发展和改革委员会",
        lead_leader="副市长刘志刚",
        due_date=dt.date(2026, 6, 20),
        days_overdue=20,
    )
    assert [(r.title, r.days_overdue, r.lead_leader) for r in rows] == [
        ("用地征收补偿未谈妥", 20, "副市长刘志刚"),
        ("资金拨付滞后", 9, "副市长王海涛"),
    ]
    assert (
        overdue_problems(user=world.users["other_county"], period=Period.parse("2026Q2"), today=today) == []
    )


def test_problem_act_is_scoped_to_what_the_actor_sees(world):
    problem = make_problem(world)
    with pytest.raises(Problem.DoesNotExist):
        problem_act(
            actor=world.users["auditor"], problem_id=problem.pk, action="accept", version=problem.version
        )


def test_leaders_instruct_rather_than_raise(world, client):
    client.force_login(world.users["leader"])
    page = client.get(reverse("problems:problem_list")).content.decode()
    assert reverse("problems:problem_add") not in page
    assert client.get(reverse("problems:problem_add")).status_code == 403


def test_a_department_raising_work_for_another_unit_is_told_on_the_form(world, client):
    project = make_project(world, departments=[world.department])
    client.force_login(world.users["department"])
    before = written()
    response = client.post(
        reverse("problems:problem_add"),
        {
            "project": project.pk,
            "title": "施工用电未接入",
            "category": "utilities",
            "owner_unit": world.other_department.pk,
            "due_date": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "由市商务局推进的问题" in response.content.decode()
    assert written() == before
