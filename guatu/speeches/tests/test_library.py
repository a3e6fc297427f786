"""The speech library's services: importing files and pasted text, refusals, corrections."""

import datetime as dt
import io
import math
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from docx import Document

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.speeches import selectors, services
from guatu.speeches.models import Speech, SpeechDocument
from guatu.speeches.text import count_chars

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
SEED_NAME = "000_16491a11ba5dc244.txt"
SECOND_TITLE = "在全市高质量项目建设年动员大会上的讲话"


def seed_bytes() -> bytes:
    return (DATA / "seed_000.txt").read_bytes()


def import_seed(actor=None) -> SpeechDocument:
    return services.document_import(actor=actor, name=SEED_NAME, data=seed_bytes())


def speech_source(title: str, paragraphs: list[str], *, speaker="市长 李四", date="（2022年3月1日）") -> str:
    """A speech as a page would hold it: title, speaker line, date line, paragraphs."""
    return "\n".join([title, speaker, date, "同志们：", *paragraphs]) + "\n"


def counts() -> tuple[int, int, int]:
    return SpeechDocument.objects.count(), Speech.objects.count(), ChangeRecord.objects.count()


def docx_bytes(lines: list[str]) -> bytes:
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- the seed


def test_seed_gives_one_document_and_two_speeches(world):
    before = counts()
    document = import_seed(world.users["city"])
    assert counts()[:2] == (before[0] + 1, before[1] + 2)
    first, second = document.speeches.order_by("start")
    assert first.is_fragment and first.title == "" and first.date is None
    assert str(first) == "（无标题残篇）"
    assert not second.is_fragment
    assert second.title == SECOND_TITLE
    assert second.date == dt.date(2022, 2, 7)
    assert (second.speaker, second.position) == ("张淑萍", "市委书记")
    assert first.start < first.end <= second.start < second.end


def test_seed_document_keeps_the_pages_own_claim_and_compilation(world):
    document = import_seed()
    assert (document.stated_chars, document.stated_minutes) == (193730, 646)
    assert document.compilation == "2022年2月领导讲话汇编(30篇)"
    assert document.page == "9/17"
    assert document.name == SEED_NAME
    assert document.raw_text == seed_bytes().decode("utf-8")


def test_speeches_are_counted_and_stripped_of_page_chrome(world):
    document = import_seed()
    for speech in document.speeches.all():
        assert speech.chars == count_chars(speech.text) > 4000
        assert speech.reading_minutes == math.ceil(speech.chars / 300)
        assert "观山文库" not in speech.text and "共计193730个字" not in speech.text
    second = document.speeches.get(title=SECOND_TITLE)
    assert "项目管家" in second.text
    assert "管家" in second.search_tokens.split()
    # The title is indexed too (jieba's search mode also keeps the shorter words).
    assert {"动员大会", "动员", "高质量", "质量"} <= set(second.search_tokens.split())


def test_import_writes_one_change_record_per_row(world):
    user = world.users["city"]
    before = ChangeRecord.objects.count()
    document = import_seed(user)
    records = ChangeRecord.objects.filter(pk__gt=0).order_by("-id")[:3]
    assert ChangeRecord.objects.count() == before + 3
    assert {r.object_id for r in records} == {str(document.pk), *(str(s.pk) for s in document.speeches.all())}
    assert all(r.action == "create" and r.actor_id == user.pk for r in records)
    assert document.created_by == user and document.speeches.first().created_by == user


def test_the_same_document_twice_is_refused_naming_the_first(world):
    first = import_seed()
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.document_import(actor=None, name="again.txt", data=seed_bytes())
    message = " ".join(err.value.messages)
    assert "again.txt" in message and SEED_NAME in message and f"编号 {first.pk}" in message
    assert counts() == before
    # Pasting the same text is the same document.
    with pytest.raises(ValidationError):
        services.document_import(actor=None, name="", text=seed_bytes().decode("utf-8"))
    assert counts() == before


# --- bad input: refused, named, nothing written


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "是空文件"),
        ("blank.txt", "   \n\u3000\n".encode(), "是空文件"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "是二进制文件"),
        ("nul.txt", "讲话".encode() + b"\x00\x01\x02" * 50, "是二进制文件"),
        ("noise.txt", bytes([0x81, 0x30, 0xFE, 0xFF, 0xC0, 0x80]) * 300, "不是可识别的文本编码"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "不是有效的 Word 文件"),
        ("only-chrome.txt", "观山文库◆记住我\n扫一扫二维码领取福利\n".encode(), "没有找到讲话正文"),
    ],
)
def test_bad_files_are_refused_with_their_name_and_nothing_is_written(world, name, data, message):
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.document_import(actor=world.users["city"], name=name, data=data)
    text = " ".join(err.value.messages)
    assert message in text and name in text
    assert counts() == before


def test_a_file_over_the_size_limit_is_refused(world, settings):
    settings.GUATU_SPEECH_MAX_BYTES = 1024
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.document_import(actor=None, name="big.txt", data=("讲话" * 1000).encode())
    assert "big.txt" in err.value.messages[0] and "超过上限" in err.value.messages[0]
    assert counts() == before


def test_gbk_text_is_decoded(world):
    source = speech_source("在全市营商环境大会上的讲话", ["要当好项目管家，全程代办帮办。" * 5])
    document = services.document_import(actor=None, name="gbk.txt", data=source.encode("gbk"))
    speech = document.speeches.get()
    assert speech.title == "在全市营商环境大会上的讲话" and "项目管家" in speech.text


def test_docx_import(world):
    data = docx_bytes(
        [
            "在全市营商环境建设大会上的讲话",
            "市长 李四",
            "（2022年3月1日）",
            "同志们：",
            "今年全市要办好92项重点任务，打造8个营商品牌。",
            "各级各部门要当好项目管家。",
        ]
    )
    document = services.document_import(actor=None, name="讲话.docx", data=data)
    speech = document.speeches.get()
    assert (speech.title, speech.speaker, speech.position) == (
        "在全市营商环境建设大会上的讲话",
        "李四",
        "市长",
    )
    assert speech.date == dt.date(2022, 3, 1)
    assert "92项重点任务" in speech.text and speech.chars == count_chars(speech.text)
    assert document.name == "讲话.docx"


def test_pasted_text_import(world):
    source = speech_source(
        "在全市项目观摩会上的讲话", ["一季度全市要开工项目120个。", "二季度达产项目191个。"]
    )
    document = services.document_import(actor=world.users["city"], name="", text=source)
    assert document.name == "粘贴的文本"
    assert document.raw_text == source
    speech = document.speeches.get()
    assert speech.title == "在全市项目观摩会上的讲话" and speech.text.startswith("同志们")
    named = services.document_import(actor=None, name="观摩会讲话", text=source.replace("120", "130"))
    assert named.name == "观摩会讲话"


def test_neither_or_both_inputs_are_refused(world):
    with pytest.raises(ValidationError):
        services.document_import(actor=None, name="x.txt")
    with pytest.raises(ValidationError):
        services.document_import(actor=None, name="x.txt", data=b"abc", text="abc")


@pytest.mark.parametrize("role", ["county", "leader", "department", "sysadmin", "enterprise"])
def test_only_the_project_office_imports(world, role):
    before = counts()
    with pytest.raises(PermissionDenied):
        import_seed(world.users[role])
    assert counts() == before


# --- corrections


def test_speech_update_corrects_and_reindexes(world):
    user = world.users["city"]
    fragment = import_seed(user).speeches.get(is_fragment=True)
    records = ChangeRecord.objects.count()
    updated = services.speech_update(
        actor=user,
        speech_id=fragment.pk,
        version=fragment.version,
        data={
            "title": "在市政协十五届一次会议开幕会上的讲话 ",
            "speaker": "某某",
            "date": dt.date(2022, 1, 5),
        },
    )
    assert updated.version == fragment.version + 1
    assert updated.title == "在市政协十五届一次会议开幕会上的讲话"  # stripped
    assert updated.date == dt.date(2022, 1, 5) and updated.updated_by == user
    assert ChangeRecord.objects.count() == records + 1
    record = ChangeRecord.objects.order_by("-id").first()
    assert record.action == "update" and record.before["title"] == "" and record.after["speaker"] == "某某"
    # The new title's words are searchable.
    assert list(selectors.speech_search(user=user, q="市政协开幕")) == [updated]


def test_stale_version_is_a_conflict_and_changes_nothing(world):
    speech = import_seed().speeches.get(title=SECOND_TITLE)
    services.speech_update(actor=None, speech_id=speech.pk, version=speech.version, data={"speaker": "张三"})
    with pytest.raises(Conflict) as err:
        services.speech_update(actor=None, speech_id=speech.pk, version=speech.version, data={"title": "改"})
    assert "已被他人修改" in err.value.message and SECOND_TITLE in err.value.message
    speech.refresh_from_db()
    assert (speech.title, speech.speaker, speech.version) == (SECOND_TITLE, "张三", 2)


def test_unchanged_edit_writes_nothing_and_other_fields_are_refused(world):
    speech = import_seed().speeches.get(title=SECOND_TITLE)
    records = ChangeRecord.objects.count()
    same = services.speech_update(
        actor=None, speech_id=speech.pk, version=speech.version, data={"title": SECOND_TITLE}
    )
    assert same.version == speech.version and ChangeRecord.objects.count() == records
    with pytest.raises(ValidationError) as err:
        services.speech_update(actor=None, speech_id=speech.pk, version=speech.version, data={"chars": 1})
    assert "不能修改的字段" in str(err.value)


def test_county_cannot_correct(world):
    speech = import_seed().speeches.first()
    with pytest.raises(Speech.DoesNotExist):
        services.speech_update(
            actor=world.users["county"], speech_id=speech.pk, version=speech.version, data={"title": "x"}
        )


def test_document_delete_removes_speeches_and_logs(world):
    document = import_seed()
    records = ChangeRecord.objects.count()
    services.document_delete(actor=world.users["city"], document_id=document.pk)
    assert not SpeechDocument.objects.exists() and not Speech.objects.exists()
    assert ChangeRecord.objects.count() == records + 3
    assert not selectors.speech_search(user=world.users["city"], q="项目管家").exists()
