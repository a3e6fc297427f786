"""Shared set-up of the breakdown tests: a speech to review, units, tasks, items built directly."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from guatu.org.models import Unit
from guatu.speeches import services
from guatu.speeches.models import ExtractedItem, Speech, SpeechDocument

DATA = Path(__file__).parent / "data"
SEED_NAME = "000_16491a11ba5dc244.txt"
TODAY = dt.date(2026, 3, 2)


def seed_speech(actor=None) -> Speech:
    """The seed's second speech (朝阳市委书记, 2022-02-07), imported through the library."""
    document = services.document_import(
        actor=actor, name=SEED_NAME, data=(DATA / "seed_000.txt").read_bytes()
    )
    return document.speeches.get(title__contains="高质量项目建设年动员大会")


def plain_speech(text: str = "今年全市要新开工项目50个以上。", *, date=dt.date(2026, 1, 10)) -> Speech:
    document = SpeechDocument.objects.create(name="测试讲话.txt", raw_text=text, sha256="0" * 64)
    return Speech.objects.create(
        document=document, title="在全市测试大会上的讲话", speaker="市长", date=date, text=text, end=len(text)
    )


def item(speech: Speech, **fields) -> ExtractedItem:
    values = {
        "kind": "target", "metric": "新开工项目", "value": Decimal(50), "unit": "个", "comparator": ">=",
        "period": "2026", "sentence": speech.text, "start": 0, "end": len(speech.text),
    }  # fmt: skip
    values.update(fields)
    return ExtractedItem.objects.create(speech=speech, **values)


def county_unit(world, code: str = "211302", name: str = "双塔区人民政府") -> Unit:
    return Unit.objects.create(name=name, kind=Unit.Kind.COUNTY, region=world.counties[code])


def task_data(world, **extra) -> dict:
    data = {
        "title": "推行企业开办全程网办",
        "owner_unit": world.department,
        "supporting_units": [world.other_department],
        "lead_leader": "副市长 王五",
        "deadline": TODAY + dt.timedelta(days=30),
        "category": "营商环境",
    }
    data.update(extra)
    return data
