"""The demo's speech library: the page of the 2022 compilation the mission comes from, read into
speeches, its targets and tasks extracted for review, and the 营商环境 tasks it names (8 of the 92,
made up) supervised at every status, some overdue and climbing the ladder."""

import datetime as dt
from pathlib import Path

from guatu.demo import catalogue as cat
from guatu.org.models import Unit
from guatu.speeches import services
from guatu.speeches.models import ItemKind, SpeechDocument

SOURCE = Path(__file__).resolve().parent / "data" / "speech_2022_02_p9.txt"
NAME = "2022年2月领导讲话汇编(30篇)(第9页).txt"

# (title, owner department index, days from today to the deadline, steps taken, progress %)
TASKS = [
    ("推行企业开办“一网通办”，开办时间压减至1个工作日", 0, 40, ["accept", "start"], 60),
    ("工程建设项目审批“拿地即开工”改革扩面", 1, 25, ["accept", "start"], 40),
    ("政务服务事项“最多跑一次”清单动态调整", 2, 60, ["accept"], 10),
    ("打造“朝好办”营商品牌，编制服务指南", 3, -12, ["accept", "start"], 30),
    ("涉企收费目录清单公开，清理违规收费", 4, -20, ["accept", "start"], 20),
    ("项目管家服务覆盖全部亿元以上项目", 0, 15, ["accept", "start", "resolve"], 100),
    ("水电气暖报装“一件事”联办", 1, 90, [], 0),
    ("建立营商环境投诉“12345”快速响应机制", 2, -3, ["accept", "start", "resolve", "verify"], 100),
]


def build(*, today: dt.date, result) -> None:
    if SpeechDocument.objects.filter(name=NAME).exists():
        return
    document = services.document_import(actor=None, name=NAME, data=SOURCE.read_bytes())
    result.created["speeches"] += document.speeches.count()
    for speech in document.speeches.order_by("start"):
        result.created["extracted_items"] += len(services.speech_extract(actor=None, speech_id=speech.pk))
    mobilisation = document.speeches.exclude(title="").first()
    task_item = mobilisation.items.filter(kind=ItemKind.TASK).first() if mobilisation else None
    departments = list(
        Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, name__in=cat.DEPARTMENTS).order_by("name")
    )
    if not departments:
        return
    if task_item is not None:  # 4月份集中开工: accepted as this year's task
        services.item_accept(
            actor=None,
            item_id=task_item.pk,
            version=task_item.version,
            data={
                "mode": "task",
                "title": "组织全市项目集中开工",
                "owner_unit": departments[0].pk,
                "lead_leader": "分管副市长",
                "deadline": today + dt.timedelta(days=30),
            },
            today=today,
        )
        result.created["tasks"] += 1
    for i, (title, owner, days, steps, progress) in enumerate(TASKS, start=1):
        # An overdue task was given before its deadline: create it on an earlier day.
        given = min(today, today + dt.timedelta(days=days) - dt.timedelta(days=30))
        task = services.task_create(
            actor=None,
            data={
                "code": f"YS-{i:02d}",
                "title": title,
                "category": "营商环境",
                "owner_unit": departments[owner % len(departments)].pk,
                "supporting_units": [departments[(owner + 1) % len(departments)].pk],
                "lead_leader": "常务副市长",
                "deadline": today + dt.timedelta(days=days),
                "speech": mobilisation,
                "is_demo": True,
            },
            today=given,
        )
        for action in steps:
            if progress and action in ("resolve", "verify"):  # the last progress note comes first
                task.refresh_from_db()
                services.task_note(
                    actor=None, task_id=task.pk, version=task.version, text="按计划推进", progress=progress
                )
                progress = 0
            task.refresh_from_db()
            services.task_act(
                actor=None, task_id=task.pk, action=action, version=task.version, comment="按计划办理"
            )
        if progress:
            task.refresh_from_db()
            services.task_note(
                actor=None, task_id=task.pk, version=task.version, text="按计划推进", progress=progress
            )
        result.created["tasks"] += 1
    services.escalate_overdue_tasks(today=today)
