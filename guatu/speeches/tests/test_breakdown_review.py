"""The review of extracted items: accept as a target or a supervised task, edit, reject, re-extract."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.speeches import services
from guatu.speeches.models import ExtractedItem, ReviewStatus, SupervisedTask
from guatu.speeches.tests.breakdown_helpers import item, plain_speech, seed_speech
from guatu.targets.models import Target

pytestmark = pytest.mark.django_db


def test_seed_first_quarter_starts_become_a_target(world):
    city = world.users["city"]
    speech = seed_speech(city)
    assert speech.date == dt.date(2022, 2, 7)
    services.speech_extract(actor=city, speech_id=speech.pk)
    speech.refresh_from_db()
    assert speech.extracted_at is not None
    found = speech.items.get(kind="target", value=120, period="2022Q1")
    assert "一季度开工120个" in found.sentence
    accepted = services.item_accept(
        actor=city, item_id=found.pk, version=found.version, data={"target_metric": "started"}
    )
    target = Target.objects.get()
    assert accepted.target == target and accepted.status == ReviewStatus.ACCEPTED
    assert accepted.target_metric == "started" and accepted.reviewed_by == city and accepted.version == 2
    assert (target.metric, target.period, target.value) == ("started", "2022Q1", Decimal(120))
    assert target.comparator == "ge"  # a goal's bare number is a floor to reach
    assert target.region == world.city and target.unit is None
    assert target.source == found.sentence
    assert ChangeRecord.objects.filter(object_id=str(target.pk), action="create").exists()


def test_seed_dated_action_becomes_a_supervised_task(world):
    city = world.users["city"]
    speech = seed_speech(city)
    services.speech_extract(actor=city, speech_id=speech.pk)
    found = speech.items.get(kind="task", sentence__contains="4月份全市要组织一次项目集中开工")
    assert found.deadline == dt.date(2022, 4, 30)
    accepted = services.item_accept(
        actor=city, item_id=found.pk, version=found.version,
        data={"owner_unit": world.department.pk, "supporting_units": [world.other_department.pk],
              "lead_leader": "副市长 王五"},
        today=dt.date(2022, 2, 8),
    )  # fmt: skip
    task = SupervisedTask.objects.get()
    assert accepted.task == task and accepted.status == ReviewStatus.ACCEPTED
    assert task.deadline == dt.date(2022, 4, 30)  # the item's, as the reviewer left it empty
    assert task.speech == speech and task.source_sentence == found.sentence
    assert task.title == found.metric
    assert task.owner_unit == world.department
    assert list(task.supporting_units.all()) == [world.other_department]
    assert task.status.code == "assigned" and task.level.code == "department"
    assert Target.objects.count() == 0


def test_a_target_item_can_be_supervised_as_a_task(world):
    speech = plain_speech()
    row = item(speech)
    services.item_accept(
        actor=world.users["city"], item_id=row.pk, version=1,
        data={"mode": "task", "title": "新开工项目50个", "owner_unit": world.department.pk,
              "deadline": dt.date(2026, 12, 31)},
        today=dt.date(2026, 1, 11),
    )  # fmt: skip
    assert SupervisedTask.objects.get().title == "新开工项目50个"
    assert Target.objects.count() == 0


def test_amounts_are_converted_to_the_metric_unit(world):
    speech = plain_speech("全年完成投资5000万元。")
    row = item(speech, metric="完成投资", value=Decimal(50000000), unit="元", comparator="=")
    services.item_accept(
        actor=world.users["city"], item_id=row.pk, version=1,
        data={"target_metric": "investment_done", "scope": "211302"},
    )  # fmt: skip
    target = Target.objects.get()
    assert target.value == Decimal(5000) and target.period == "2026"
    assert target.region == world.counties["211302"]


def test_the_reviewer_may_override_scope_period_comparator_and_value(world):
    speech = plain_speech()
    row = item(speech)
    services.item_accept(
        actor=world.users["city"], item_id=row.pk, version=1,
        data={"target_metric": "started", "scope": f"u:{world.department.pk}", "period": "2026Q2",
              "comparator": "=", "value": "12"},
    )  # fmt: skip
    target = Target.objects.get()
    assert (target.unit, target.period, target.comparator, target.value) == (
        world.department,
        "2026Q2",
        "eq",
        Decimal(12),
    )


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "target_metric", "请选择对应指标"),
        ({"target_metric": "nonsense"}, "target_metric", "未知指标"),
        ({"target_metric": "started", "scope": "999999"}, "scope", "范围“999999”不存在"),
        ({"target_metric": "started", "period": "2026H1"}, "period", "无法识别"),
        ({"target_metric": "started", "comparator": "≈"}, "comparator", "比较方式“≈”无效"),
        ({"target_metric": "started", "value": "很多"}, "value", "目标值“很多”不是数字"),
        ({"target_metric": "investment_done"}, "value", "单位“个”与指标"),
        ({"mode": "both"}, "mode", "采纳方式"),
        ({"mode": "task", "deadline": dt.date(2026, 12, 31)}, "owner_unit", "请选择牵头单位"),
    ],
)
def test_bad_accept_input_names_the_field_and_writes_nothing(world, data, field, words):
    row = item(plain_speech())
    with pytest.raises(ValidationError) as caught:
        services.item_accept(actor=world.users["city"], item_id=row.pk, version=1, data=data)
    assert field in caught.value.message_dict
    assert any(words in message for message in caught.value.message_dict[field])
    row.refresh_from_db()
    assert row.status == ReviewStatus.PROPOSED and row.version == 1
    assert Target.objects.count() == 0 and SupervisedTask.objects.count() == 0


def test_an_item_without_a_period_needs_one(world):
    row = item(plain_speech(), period="")
    with pytest.raises(ValidationError) as caught:
        services.item_accept(
            actor=world.users["city"], item_id=row.pk, version=1, data={"target_metric": "started"}
        )
    assert "不能直接作为目标期间" in caught.value.message_dict["period"][0]


def test_reject_needs_a_reason_and_closes_the_item(world):
    city = world.users["city"]
    row = item(plain_speech())
    with pytest.raises(ValidationError) as caught:
        services.item_reject(actor=city, item_id=row.pk, version=1, reason="  ")
    assert caught.value.message_dict["reason"] == ["驳回须填写理由"]
    rejected = services.item_reject(actor=city, item_id=row.pk, version=1, reason="这是去年的完成情况")
    assert rejected.status == ReviewStatus.REJECTED and rejected.reject_reason == "这是去年的完成情况"
    with pytest.raises(Conflict, match="已驳回，不能再采纳"):
        services.item_accept(actor=city, item_id=row.pk, version=2, data={"target_metric": "started"})


def test_stale_version_is_refused_with_a_conflict(world):
    city = world.users["city"]
    row = item(plain_speech())
    services.item_edit(actor=city, item_id=row.pk, version=1, data={"value": "60"})
    for write in (
        lambda: services.item_accept(
            actor=city, item_id=row.pk, version=1, data={"target_metric": "started"}
        ),
        lambda: services.item_reject(actor=city, item_id=row.pk, version=1, reason="重复"),
        lambda: services.item_edit(actor=city, item_id=row.pk, version=1, data={"value": "70"}),
    ):
        with pytest.raises(Conflict, match="已被他人修改（当前版本 2，您看到的是版本 1）"):
            write()
    assert Target.objects.count() == 0


def test_edit_changes_what_is_accepted(world):
    city = world.users["city"]
    row = item(plain_speech())
    edited = services.item_edit(
        actor=city, item_id=row.pk, version=1, data={"value": "55", "period": "2026Q3", "comparator": "<="}
    )
    assert (edited.value, edited.period, edited.comparator, edited.version) == (
        Decimal(55),
        "2026Q3",
        "<=",
        2,
    )
    services.item_accept(actor=city, item_id=row.pk, version=2, data={"target_metric": "started"})
    target = Target.objects.get()
    assert (target.value, target.period, target.comparator) == (Decimal(55), "2026Q3", "le")


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"comparator": "about"}, "comparator", "比较“about”无效"),
        ({"kind": "wish"}, "kind", "类别“wish”无效"),
        ({"value": "abc"}, "value", "数值“abc”不是数字"),
        ({"deadline": "下个月"}, "deadline", "完成时限“下个月”不是日期"),
        ({"comparator": "range", "value_max": "10"}, "value_max", "区间"),
        ({"sentence": "改写原句"}, "sentence", "不能修改的字段"),
    ],
)
def test_bad_edits_name_the_field(world, data, field, words):
    row = item(plain_speech())
    with pytest.raises(ValidationError) as caught:
        services.item_edit(actor=world.users["city"], item_id=row.pk, version=1, data=data)
    assert any(words in m for m in caught.value.message_dict[field])
    row.refresh_from_db()
    assert row.version == 1 and row.value == Decimal(50)


def test_reextraction_replaces_proposed_items_and_keeps_reviewed_ones(world):
    city = world.users["city"]
    speech = plain_speech("今年全市要新开工项目50个以上，全年完成投资80亿元。")
    first = services.speech_extract(actor=city, speech_id=speech.pk)
    assert len(first) >= 2
    keep = first[0]
    services.item_reject(actor=city, item_id=keep.pk, version=keep.version, reason="不作考核")
    again = services.speech_extract(actor=city, speech_id=speech.pk)
    assert len(again) == len(first) - 1
    assert ExtractedItem.objects.filter(pk=keep.pk, status=ReviewStatus.REJECTED).exists()
    assert not ExtractedItem.objects.filter(pk__in=[i.pk for i in first[1:]]).exists()
    assert not any((i.start, i.end) == (keep.start, keep.end) for i in again)


@pytest.mark.parametrize("role", ["county", "department", "leader", "sysadmin"])
def test_only_the_project_office_reviews(world, role):
    user = world.users[role]
    speech = plain_speech()
    row = item(speech)
    with pytest.raises(ExtractedItem.DoesNotExist, match="提取条目不存在或无权审核"):
        services.item_accept(actor=user, item_id=row.pk, version=1, data={"target_metric": "started"})
    with pytest.raises(ExtractedItem.DoesNotExist):
        services.item_reject(actor=user, item_id=row.pk, version=1, reason="不要")
    from guatu.speeches.models import Speech

    with pytest.raises(Speech.DoesNotExist):
        services.speech_extract(actor=user, speech_id=speech.pk)
