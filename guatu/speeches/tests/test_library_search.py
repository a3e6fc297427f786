"""Full-text search over the speech library (jieba words; SQLite FTS5 or PostgreSQL full text).

Run on SQLite by default and on PostgreSQL with GUATU_TEST_DATABASE_URL: the same assertions hold
on both."""

from html import unescape

import pytest
from django.db import connection

from guatu.speeches import selectors, services
from guatu.speeches.models import Speech
from guatu.speeches.tests.test_library import SECOND_TITLE, import_seed, speech_source

pytestmark = pytest.mark.django_db


def paste(title: str, paragraphs: list[str], **kwargs):
    return services.document_import(actor=None, name=title, text=speech_source(title, paragraphs, **kwargs))


def titles(qs) -> list[str]:
    return [s.title for s in qs]


def test_the_index_exists_on_this_database(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [selectors.FTS_TABLE])
            assert "fts5" in cursor.fetchone()[0].lower()
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'speeches_speech_search_gin'")
            assert "to_tsvector('simple'" in cursor.fetchone()[0]


def test_finds_xiangmu_guanjia_in_the_second_speech_only(world):
    document = import_seed()
    fragment = document.speeches.get(is_fragment=True)
    hits = list(selectors.speech_search(user=world.users["city"], q="项目管家"))
    assert titles(hits) == [SECOND_TITLE]
    assert fragment not in hits
    # The first speech is about the 政协; the second is not.
    assert list(selectors.speech_search(user=world.users["city"], q="政协委员")) == [fragment]


def test_every_word_must_occur(world):
    import_seed()
    user = world.users["city"]
    assert selectors.query_terms("项目管家 政协委员") == ["项目", "管家", "政协委员"]
    assert selectors.query_terms("招商引资推进会") == ["招商引资", "推进"]
    assert selectors.query_terms("会") == ["会"]
    assert not selectors.speech_search(user=user, q="项目管家 政协委员").exists()
    assert selectors.speech_search(user=user, q="项目").count() == 2


def test_results_are_ranked_best_first(world):
    filler = "全市上下要坚定信心、真抓实干，推动经济社会高质量发展。" * 6
    paste("在全市经济工作会议上的讲话", [filler, "要选派项目管家。", filler])
    paste("在全市营商环境大会上的讲话", ["项目管家要做到项目管家全程服务，项目管家全程代办。"])
    paste("在全市农业工作会议上的讲话", [filler])
    hits = list(selectors.speech_search(user=world.users["city"], q="项目管家"))
    assert titles(hits) == ["在全市营商环境大会上的讲话", "在全市经济工作会议上的讲话"]
    assert hits[0].rank > hits[1].rank


def test_title_words_are_found(world):
    paste("在全市招商引资推进会上的讲话", ["要抓好签约项目落地。"])
    assert titles(selectors.speech_search(user=world.users["city"], q="招商引资推进会")) == [
        "在全市招商引资推进会上的讲话"
    ]


def test_empty_and_wordless_queries(world):
    import_seed()
    user = world.users["city"]
    assert selectors.speech_search(user=user, q="   ").count() == 2
    assert not selectors.speech_search(user=user, q="，。！").exists()
    # Quotes and FTS syntax in a query are plain words, never an error.
    assert selectors.speech_search(user=user, q='"项目" OR NEAR(管家) *').count() == 0  # "or", "near"
    assert selectors.speech_search(user=user, q='项目" "管家').count() == 1


def test_snippet_shows_the_text_around_the_first_hit(world):
    speech = import_seed().speeches.get(title=SECOND_TITLE)
    terms = selectors.query_terms("项目管家")
    html = str(selectors.snippet(speech.text, terms))
    first = speech.text.find("项目管家")  # the words together, not the first 项目 alone
    assert first > speech.text.find("项目") >= 0
    assert "<mark>项目</mark><mark>管家</mark>" in html
    plain = unescape(html.replace("<mark>", "").replace("</mark>", ""))
    assert speech.text[first : first + 10].replace("\n", " ") in plain
    assert speech.text[first - 30 : first].replace("\n", " ") in plain
    assert len(plain) <= 30 + 90 + 2
    assert selectors.snippet(speech.text, ["不存在的词"]) == ""
    # Apart, the first of them counts.
    assert "<mark>政协</mark>" in str(selectors.snippet("前言政协后文，再说项目。", ["项目", "政协"]))
    assert "&lt;b&gt;" in str(selectors.snippet("前文<b>项目</b>后文", ["项目"]))


def test_search_follows_corrections_and_deletes(world):
    user = world.users["city"]
    document = paste("在全市防汛工作会议上的讲话", ["要压实防汛责任。"])
    speech = document.speeches.get()
    assert selectors.speech_search(user=user, q="防汛").exists()
    services.speech_update(
        actor=user, speech_id=speech.pk, version=speech.version, data={"title": "在全市安全生产会议上的讲话"}
    )
    assert titles(selectors.speech_search(user=user, q="安全生产")) == ["在全市安全生产会议上的讲话"]
    assert not selectors.speech_search(user=user, q="防汛工作会议").exists()
    assert selectors.speech_search(user=user, q="防汛责任").exists()  # the text is still indexed
    services.document_delete(actor=user, document_id=document.pk)
    assert not selectors.speech_search(user=user, q="防汛责任").exists()


def test_search_goes_through_restrict(world):
    import_seed()
    assert selectors.speech_search(user=world.users["county"], q="项目管家").count() == 1
    assert selectors.speech_search(user=world.users["department"], q="项目管家").count() == 1
    for role in ("sysadmin", "enterprise", "steward"):
        assert not selectors.speech_search(user=world.users[role], q="项目管家").exists()


def test_search_combines_with_filters(world):
    import_seed()
    paste("在全市项目建设推进会上的讲话", ["要当好项目管家。"], speaker="市长 李四", date="（2023年3月1日）")
    user = world.users["city"]
    found = selectors.speech_list(user=user, params={"q": "项目管家", "year": "2022"})
    assert titles(found) == [SECOND_TITLE]
    found = selectors.speech_list(user=user, params={"q": "项目管家", "speaker": "李四"})
    assert titles(found) == ["在全市项目建设推进会上的讲话"]
    assert selectors.speech_list(user=user, params={"q": "项目管家"}).count() == 2


def test_item_counts_are_annotated(world):
    speech = import_seed().speeches.get(title=SECOND_TITLE)
    speech.items.create(kind="target", sentence="一季度开工120个", start=0, end=5)
    speech.items.create(kind="task", sentence="4月份集中开工", start=10, end=15)
    rows = {s.pk: s.item_count for s in selectors.speech_search(user=world.users["county"], q="项目")}
    assert rows[speech.pk] == 2 and sorted(rows.values()) == [0, 2]
    assert Speech.objects.count() == 2


def test_the_search_uses_the_index(world):
    import_seed()
    qs = selectors.speech_search(user=world.users["city"], q="项目管家")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan and selectors.FTS_TABLE in plan
        else:
            # Two rows would be read sequentially or through any index; forbid both so that only a
            # bitmap scan remains, which needs an index whose expression fits the query.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "speeches_speech_search_gin" in plan, plan
