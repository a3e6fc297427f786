"""The speech library's pages and API: list, import, document, speech with pages and highlights."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.models import ChangeRecord
from guatu.speeches import selectors, services
from guatu.speeches.models import ExtractedItem, Speech, SpeechDocument
from guatu.speeches.tests.test_library import (
    SECOND_TITLE,
    SEED_NAME,
    counts,
    docx_bytes,
    import_seed,
    seed_bytes,
    speech_source,
)

pytestmark = pytest.mark.django_db

LIST = reverse("speeches:speech_list")
IMPORT = reverse("speeches:document_import")


def login(client, world, role="city"):
    client.force_login(world.users[role])
    return client


def second(document) -> Speech:
    return document.speeches.get(title=SECOND_TITLE)


# --- list


@pytest.mark.parametrize("role", ["city", "leader", "county", "department"])
def test_government_roles_read_the_list(client, world, role):
    import_seed()
    response = login(client, world, role).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert SECOND_TITLE in html and "（无标题残篇）" in html and "张淑萍" in html
    assert "2022-02-07" in html and "4150 字" in html and "14 分钟" in html
    assert (IMPORT in html) == (role == "city")
    assert 'href="/speeches/"' in html  # the 讲话 link in the navigation bar


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor", "enterprise", "steward"])
def test_other_roles_are_refused(client, world, role):
    import_seed()
    client = login(client, world, role)
    assert client.get(LIST).status_code == 403
    assert client.get(IMPORT).status_code == 403
    assert client.get(reverse("api:speech-list")).status_code == 403


def test_list_search_shows_ranked_hits_with_snippets(client, world):
    import_seed()
    response = login(client, world).get(LIST, {"q": "项目管家"})
    html = response.content.decode()
    assert SECOND_TITLE in html and "（无标题残篇）" not in html
    assert "<mark>项目</mark>" in html and "<mark>管家</mark>" in html
    assert "共 1 条" in html


def test_list_filters_by_speaker_and_year(client, world):
    import_seed()
    client = login(client, world)
    assert SECOND_TITLE in client.get(LIST, {"speaker": "张淑萍"}).content.decode()
    html = client.get(LIST, {"year": "2021"}).content.decode()
    assert SECOND_TITLE not in html and "没有符合条件的讲话" in html


def test_list_runs_the_same_queries_however_many_speeches(client, world):
    client = login(client, world)
    import_seed()
    client.get(LIST)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST, {"q": "项目"}).status_code == 200
    for n in range(6):
        source = speech_source(f"在第{n + 1}次项目调度会上的讲话", [f"第{n + 1}批项目要当好项目管家。"])
        document = services.document_import(actor=None, name=f"s{n}.txt", text=source)
        document.speeches.get().items.create(kind="task", sentence="要当好项目管家", start=0, end=4)
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST, {"q": "项目"})
    assert "共 8 条" in response.content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)


# --- import


def test_import_page_pastes_text_and_goes_to_the_document(client, world):
    client = login(client, world)
    assert client.get(IMPORT).status_code == 200
    source = speech_source("在全市营商环境大会上的讲话", ["要当好项目管家，全程代办帮办。"])
    response = client.post(IMPORT, {"text": source, "name": "营商环境大会"})
    document = SpeechDocument.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "speeches:document_detail", args=[document.pk]
    )
    assert document.name == "营商环境大会" and document.speeches.get().title == "在全市营商环境大会上的讲话"


def test_import_page_uploads_the_seed_and_the_document_page_shows_both_counts(client, world):
    client = login(client, world)
    upload = SimpleUploadedFile(SEED_NAME, seed_bytes(), content_type="text/plain")
    response = client.post(IMPORT, {"file": upload}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "共计193730个字，预计阅读时长646分钟" in html
    document = SpeechDocument.objects.get()
    counted = sum(s.chars for s in document.speeches.all())
    assert f"2 篇，{counted} 字" in html and "与页面一致" in html
    assert SECOND_TITLE in html and "（无标题残篇）" in html
    assert "已导入" in html


def test_import_page_uploads_a_docx(client, world):
    data = docx_bytes(
        ["在全市营商环境建设大会上的讲话", "市长 李四", "（2022年3月1日）", "要打造8个营商品牌。"]
    )
    upload = SimpleUploadedFile("营商.docx", data)
    response = login(client, world).post(IMPORT, {"file": upload})
    assert response.status_code == 302
    assert Speech.objects.get().title == "在全市营商环境建设大会上的讲话"


def test_refusals_come_back_in_chinese_keeping_the_pasted_text(client, world):
    import_seed()
    client = login(client, world)
    before = counts()
    pasted = seed_bytes().decode("utf-8")
    response = client.post(IMPORT, {"text": pasted, "name": "再次粘贴"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "内容相同，不再重复导入" in html and SEED_NAME in html
    assert "项目管家" in html  # the pasted text is still in the textarea
    response = client.post(IMPORT, {"file": SimpleUploadedFile("空.txt", b"")})
    assert response.status_code == 400  # Django refuses an empty upload before the service
    response = client.post(IMPORT, {"file": SimpleUploadedFile("图.txt", b"\x89PNG\r\n\x1a\n\x00\x01" * 40)})
    assert response.status_code == 400 and "文件“图.txt”是二进制文件" in response.content.decode()
    response = client.post(IMPORT, {})
    assert response.status_code == 400 and "请上传一个讲话文件，或粘贴讲话文本" in response.content.decode()
    assert counts() == before


def test_county_cannot_import(client, world):
    client = login(client, world, "county")
    before = counts()
    response = client.post(IMPORT, {"text": speech_source("在某会上的讲话", ["要抓项目。"])})
    assert response.status_code == 403 and counts() == before


# --- the speech


def test_speech_page_shows_counts_pages_and_paragraphs(client, world):
    speech = second(import_seed())
    pages = selectors.speech_pages(speech)
    assert len(pages) == 2
    client = login(client, world, "county")
    url = reverse("speeches:speech_detail", args=[speech.pk])
    html = client.get(url).content.decode()
    assert "4150 字" in html and "约 14 分钟" in html and "第 1 页，共 2 页" in html
    assert 'href="?page=2"' in html
    first_page = speech.text[pages[0].start : pages[0].end]
    paragraphs = [line for line in first_page.splitlines() if line.strip()]
    body = html.split('id="speech-text">', 1)[1].split("</div>", 1)[0]
    assert body.count("<p>") == len(paragraphs) > 5
    html2 = client.get(url, {"page": 2}).content.decode()
    assert "第 2 页，共 2 页" in html2
    last_words = speech.text.rstrip()[-20:]
    assert last_words in html2 and last_words not in html
    assert client.get(url, {"page": 3}).status_code == 404
    assert client.get(url, {"page": "x"}).status_code == 404
    # No edit form for a county.
    assert "更正讲话信息" not in html


def test_items_are_highlighted_on_the_page_they_fall_on(client, world):
    speech = second(import_seed())
    pages = selectors.speech_pages(speech)
    start = speech.text.index("项目建设")
    on_first = speech.items.create(kind="task", sentence="项目建设", start=start, end=start + 4)
    late = speech.text.index("。", pages[1].start + 10) - 6
    on_second = speech.items.create(kind="target", sentence="x", start=late, end=late + 6)
    # Two items over the same words both keep a mark.
    twin = speech.items.create(kind="fact", sentence="项目建设", start=start, end=start + 4)
    assert selectors.page_of(pages, start) == 1 and selectors.page_of(pages, late) == 2
    client = login(client, world)
    url = reverse("speeches:speech_detail", args=[speech.pk])
    html = client.get(url).content.decode()
    assert re.search(
        rf'<mark data-item="{on_first.pk}"[^>]*><mark data-item="{twin.pk}"[^>]*>项目建设</mark>', html
    )
    assert f'data-item="{on_second.pk}"' not in html
    html2 = client.get(url, {"page": 2}).content.decode()
    assert re.search(
        rf'<mark data-item="{on_second.pk}"[^>]*>{re.escape(speech.text[late : late + 6])}</mark>', html2
    )
    assert f'data-item="{on_first.pk}"' not in html2


def test_text_is_escaped(client, world):
    document = services.document_import(
        actor=None, name="x", text=speech_source("在某会议上的讲话", ["要<script>alert(1)</script>抓项目。"])
    )
    html = login(client, world).get(reverse("speeches:speech_detail", args=[document.speeches.get().pk]))
    assert "&lt;script&gt;" in html.content.decode() and "<script>alert" not in html.content.decode()


def test_city_corrects_a_speech_and_a_stale_version_gives_409_keeping_the_input(client, world):
    speech = import_seed().speeches.get(is_fragment=True)
    client = login(client, world)
    url = reverse("speeches:speech_detail", args=[speech.pk])
    assert "更正讲话信息" in client.get(url).content.decode()
    edit = reverse("speeches:speech_edit", args=[speech.pk])
    data = {"title": "在市政协会议上的讲话", "speaker": "某某", "position": "市委书记", "date": "2022-01-05"}
    response = client.post(edit, {**data, "version": speech.version})
    assert response.status_code == 302 and response["Location"] == url
    speech.refresh_from_db()
    assert (speech.title, speech.version) == ("在市政协会议上的讲话", 2)
    records = ChangeRecord.objects.count()
    response = client.post(edit, {**data, "title": "另一位同事的标题", "version": 1})
    assert response.status_code == 409
    html = response.content.decode()
    assert "已被他人修改" in html and 'value="另一位同事的标题"' in html
    speech.refresh_from_db()
    assert speech.title == "在市政协会议上的讲话" and ChangeRecord.objects.count() == records


def test_county_cannot_correct(client, world):
    speech = import_seed().speeches.first()
    response = login(client, world, "county").post(
        reverse("speeches:speech_edit", args=[speech.pk]), {"title": "x", "version": speech.version}
    )
    assert response.status_code == 403


# --- API


def test_api_list_searches_filters_and_paginates(client, world):
    import_seed()
    client = login(client, world, "leader")
    url = reverse("api:speech-list")
    data = client.get(url).json()
    assert data["count"] == 2 and {"next", "previous", "results"} <= set(data)
    assert "text" not in data["results"][0]
    data = client.get(url, {"q": "项目管家"}).json()
    assert [r["title"] for r in data["results"]] == [SECOND_TITLE]
    hit = data["results"][0]
    assert hit["rank"] > 0 and "项目" in hit["snippet"] and "<mark>" not in hit["snippet"]
    assert client.get(url, {"year": 2021}).json()["count"] == 0
    assert client.get(url, {"speaker": "张淑萍"}).json()["count"] == 1
    assert client.get(url, {"limit": 1}).json()["next"]


def test_api_detail_has_text_and_items(client, world):
    speech = second(import_seed())
    item = speech.items.create(kind="target", metric="开工", sentence="一季度开工120个", start=3, end=9)
    response = login(client, world, "county").get(reverse("api:speech-detail", args=[speech.pk]))
    assert response.status_code == 200
    data = response.json()
    assert data["text"] == speech.text and data["date"] == "2022-02-07"
    assert data["document"]["stated_chars"] == 193730
    assert [(i["id"], i["start"], i["end"]) for i in data["items"]] == [(item.pk, 3, 9)]
    assert data["item_count"] == 1
    assert ExtractedItem.objects.count() == 1


def test_api_is_read_only(client, world):
    speech = import_seed().speeches.first()
    client = login(client, world)
    assert client.post(reverse("api:speech-list"), {}).status_code == 405
    assert client.patch(reverse("api:speech-detail", args=[speech.pk]), {}).status_code == 405


def test_an_upload_over_the_size_limit_is_refused_by_name(client, world, settings):
    settings.GUATU_SPEECH_MAX_BYTES = 2048
    before = counts()
    upload = SimpleUploadedFile("大文件.txt", ("项目建设" * 2000).encode())
    response = login(client, world).post(IMPORT, {"file": upload})
    assert response.status_code == 400
    assert "文件“大文件.txt”大小为" in response.content.decode() and "超过上限" in response.content.decode()
    assert counts() == before
