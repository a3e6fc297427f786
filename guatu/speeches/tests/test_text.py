"""Reading, chrome stripping, splitting and counting of speech texts (guatu.speeches.text)."""

import datetime
import itertools
import random
import re
from pathlib import Path

import pytest
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from guatu.speeches.text import (
    SpeechInputError,
    SpeechPart,
    body,
    chrome_spans,
    compilation_stats,
    count_chars,
    pages,
    read_file,
    read_text,
    reading_minutes,
    split_speeches,
)

# The seed (../shared/seed/000_16491a11ba5dc244.txt), copied in so the tests stand alone.
SEED = Path(__file__).resolve().parent / "data" / "seed_000.txt"  # ../shared/seed/000_16491a11ba5dc244.txt
DATA = Path(__file__).parent / "data"

SEED_CHROME = [
    "文似观山不喜平 — — 观山文库◆记住我,来上我~",
    "2022年2月领导讲话汇编(30篇)(第9/17页)",
    "admin 分享 时间: 加入收藏 共计193730个字,预计阅读时长646分钟",
    "221381",
    "领取福利",
    "微信扫码领取福利",
    "微信扫码分享",
]


def fixture_text(name: str) -> str:
    return read_file(DATA / name)


def assert_well_formed(text: str, parts: list[SpeechPart]) -> None:
    """Spans lie in the text, in order, without overlap; bodies hold no chrome line."""
    chrome = {text[s:e].strip() for s, e in chrome_spans(text)}
    previous_end = 0
    for part in parts:
        assert previous_end <= part.start <= part.end <= len(text)
        previous_end = part.end
        lines = {line.strip() for line in re.split(r"\r\n|\r|\n", body(text, part))}
        assert not (lines & chrome)


@pytest.fixture(scope="module")
def seed() -> str:
    return read_file(SEED)


# --- the seed ---------------------------------------------------------------------------------


def test_seed_splits_into_a_fragment_and_the_mobilisation_speech(seed):
    parts = split_speeches(seed)
    assert len(parts) == 2
    fragment, speech = parts
    assert fragment.is_fragment and fragment.title == "" and fragment.date is None
    assert fragment.speaker == ""
    assert not speech.is_fragment
    assert speech.title == "在全市高质量项目建设年动员大会上的讲话"
    assert speech.date == datetime.date(2022, 2, 7)
    assert (speech.speaker, speech.position) == ("张淑萍", "市委书记")
    for part in parts:
        assert part.compilation == "2022年2月领导讲话汇编(30篇)"
        assert part.page == "9/17"


def test_seed_bodies_map_back_and_exclude_header_and_chrome(seed):
    fragment, speech = split_speeches(seed)
    assert seed[fragment.start : fragment.end].startswith("发展源于勠力同心")
    assert seed[fragment.start : fragment.end].endswith("最后,预祝大会圆满成功!")
    assert seed[speech.start : speech.end].startswith("今天是春节后上班第一天")
    assert seed[speech.start : speech.end].endswith("招商成果真正变成发展成果。")
    for part in (fragment, speech):
        text = body(seed, part)
        for line in [
            *SEED_CHROME,
            "在全市高质量项目建设年动员大会上的讲话",
            "朝阳市委书记张淑萍",
            "(2022年2月7日)",
        ]:
            assert line not in text
    # The speech's own words survive, with their offsets: 一季度开工120个 is where the body says.
    at = seed.index("一季度开工120个")
    assert speech.start < at < speech.end
    assert body(seed, speech) == seed[speech.start : speech.end]  # no chrome inside this body
    assert_well_formed(seed, [fragment, speech])


def test_seed_chrome_lines(seed):
    spans = chrome_spans(seed)
    assert [seed[s:e] for s, e in spans] == SEED_CHROME
    assert all(0 <= s < e <= len(seed) for s, e in spans)


def test_seed_compilation_stats_agree_with_reading_time(seed):
    stats = compilation_stats(seed)
    assert stats == {
        "chars": 193730,
        "minutes": 646,
        "title": "2022年2月领导讲话汇编(30篇)",
        "page": 9,
        "pages": 17,
    }
    assert reading_minutes(stats["chars"]) == stats["minutes"]


def test_compilation_stats_absent_on_a_plain_speech():
    assert compilation_stats(fixture_text("text_work_report.txt")) is None
    assert compilation_stats("") is None


# --- other speeches --------------------------------------------------------------------------


def test_work_report_with_subtitle_date_and_mayor():
    text = fixture_text("text_work_report.txt")
    (part,) = split_speeches(text)
    assert part.title == "政府工作报告——2023年1月10日在朝阳市第十七届人民代表大会第二次会议上"
    assert part.date == datetime.date(2023, 1, 10)
    assert (part.speaker, part.position) == ("李明远", "市长")
    assert not part.is_fragment and part.compilation == "" and part.page == ""
    assert text[part.start : part.end].startswith("各位代表：")
    assert "朝阳市市长" not in body(text, part)
    # Section headings ("一、2022年工作回顾") are body, not new speeches.
    assert "一、2022年工作回顾" in body(text, part)


def test_compilation_page_with_three_speeches_and_a_fragment():
    text = fixture_text("text_compilation_three.txt")
    parts = split_speeches(text)
    assert [p.title for p in parts] == [
        "",
        "在全市经济工作会议上的讲话",
        "赵立新同志在全市招商引资推进会上的讲话（摘要）",
        "在全市优化营商环境大会上的讲话",
    ]
    assert [p.is_fragment for p in parts] == [True, False, False, False]
    assert [p.speaker for p in parts] == ["", "王建国", "赵立新", "孙海燕"]
    assert [p.position for p in parts] == ["", "市委书记", "", "市委副书记、市长"]
    assert [p.date for p in parts] == [
        None,
        datetime.date(2023, 1, 10),
        datetime.date(2023, 1, 12),
        datetime.date(2023, 1, 15),
    ]
    assert {(p.compilation, p.page) for p in parts} == {("2023年1月领导讲话汇编(12篇)", "3/5")}
    assert_well_formed(text, parts)
    # Chrome between two speeches (a share line, a counter) is outside both bodies, and the
    # "上一篇/下一篇" links at the end are not taken for new speeches.
    first_speech = body(text, parts[1])
    assert first_speech.rstrip().endswith("全年固定资产投资增长10%以上。")
    assert "微信扫一扫分享" not in text[parts[1].start : parts[1].end]
    assert body(text, parts[3]).endswith("1个工作日办结。")
    assert compilation_stats(text) == {
        "chars": None,
        "minutes": None,
        "title": "2023年1月领导讲话汇编(12篇)",
        "page": 3,
        "pages": 5,
    }


def test_windows_line_endings_are_kept_and_handled():
    raw = (DATA / "text_windows_crlf.txt").read_bytes()
    assert b"\r\n" in raw
    text = read_text(raw, name="text_windows_crlf.txt")
    assert "\r\n" in text and len(text) == len(raw.decode("utf-8"))  # decoded, not rewritten
    parts = split_speeches(text)
    assert [p.title for p in parts] == [
        "在全市一季度项目集中开工仪式上的讲话",
        "张立华同志在全市招商引资工作会议上的讲话",
    ]
    assert (parts[0].speaker, parts[0].position, parts[0].date) == (
        "刘卫东",
        "市长",
        datetime.date(2022, 3, 1),
    )
    assert (parts[1].speaker, parts[1].date) == ("张立华", datetime.date(2022, 3, 5))
    first = text[parts[0].start : parts[0].end]
    assert first.startswith("同志们、朋友们：") and first.endswith("确保年底前竣工投产。")
    assert "\r\n" in body(text, parts[0])
    assert not text[parts[0].end :].startswith("\n")  # the span never cuts a \r\n in two
    assert text[parts[1].start : parts[1].end] == "今年全市要引进亿元以上项目200个，到位资金增长15%。"
    assert_well_formed(text, parts)


def test_other_site_chrome_and_a_main_title_over_its_subtitle():
    text = fixture_text("text_other_chrome.txt")
    chrome = [text[s:e] for s, e in chrome_spans(text)]
    assert chrome == [
        "当前位置：首页 > 领导讲话 > 正文",
        "【字号 大 中 小】【打印本页】【关闭窗口】",
        "扫一扫在手机打开当前页",
        "责任编辑：周某",
        "Copyright © 2022 某某县人民政府 版权所有 辽ICP备12345678号",
    ]
    (part,) = split_speeches(text)
    assert part.title == "凝心聚力抓项目　攻坚克难促发展——在全县重点项目建设推进会上的讲话"
    assert (part.speaker, part.position) == ("陈志刚", "县委书记")
    assert part.date == datetime.date(2022, 3, 8)  # written in Chinese numerals
    text_body = body(text, part)
    assert "扫一扫" not in text_body
    assert "一季度，全县新开工项目18个" in text_body
    assert "下一步，各乡镇要倒排工期" in text_body
    # The chrome line inside the span is dropped with its line break, nothing else.
    assert len(text_body) == part.end - part.start - len("扫一扫在手机打开当前页\n")


def test_pasted_text_without_a_title_is_one_fragment():
    text = fixture_text("text_no_title.txt")
    (part,) = split_speeches(text)
    assert part.is_fragment and part.title == "" and part.speaker == ""
    assert text[part.start : part.end] == text.rstrip("\n")


@pytest.mark.parametrize(
    ("header", "speaker", "position", "date"),
    [
        (
            "在全市经济工作会议上的讲话\n中共朝阳市委书记 王一\n(2022年2月7日)",
            "王一",
            "市委书记",
            (2022, 2, 7),
        ),
        ("在全市经济工作会议上的讲话\n市长 李二二\n（2023年1月10日）", "李二二", "市长", (2023, 1, 10)),
        ("在全市经济工作会议上的讲话\n赵三\n2022年2月7日", "赵三", "", (2022, 2, 7)),
        ("在全市经济工作会议上的讲话\n张  三", "张三", "", None),
        ("在全市安全生产工作会议上的讲话（摘要）\n（2022年5月6日）", "", "", (2022, 5, 6)),
        ("市委书记王四同志在全市项目建设调度会议上的讲话", "王四", "市委书记", None),
        ("2022年朝阳市人民政府工作报告\n朝阳市人民政府市长　周五", "周五", "市人民政府市长", None),
        ("在全市经济工作会议上的讲话\n中共朝阳市委书记 XXX", "XXX", "市委书记", None),
        ("3. 在全市经济工作会议上的讲话\n市长 李四", "李四", "市长", None),  # numbered in a compilation
        ("在全市在建项目推进会上的讲话\n孙六", "孙六", "", None),  # "在" twice in the title
        (
            "在全市经济工作会议上的讲话\n朝阳市委书记、市人大常委会主任 张五",
            "张五",
            "市委书记、市人大常委会主任",
            None,
        ),
    ],
)
def test_header_forms(header, speaker, position, date):
    text = f"前文的结尾。\n\n{header}\n\n同志们：\n今年要开工项目100个。\n"
    parts = split_speeches(text)
    assert len(parts) == 2 and parts[0].is_fragment
    part = parts[1]
    assert (part.speaker, part.position) == (speaker, position)
    assert part.date == (datetime.date(*date) if date else None)
    assert text[part.start : part.end] == "同志们：\n今年要开工项目100个。"


def test_speaker_and_date_without_a_title_start_a_speech_but_a_closing_signature_does_not():
    text = "前一篇的结尾。\n\n市长 李四\n（2022年3月1日）\n\n今年要开工项目100个。\n"
    parts = split_speeches(text)
    assert [(p.title, p.speaker, p.is_fragment) for p in parts] == [("", "", True), ("", "李四", False)]
    signed = "今年要开工项目100个。\n\n李四\n2022年3月1日\n"
    (part,) = split_speeches(signed)  # nothing follows the name and date: it is a signature
    assert part.is_fragment and signed[part.start : part.end] == signed.rstrip("\n")


def test_body_lines_that_look_like_headers_do_not_split():
    text = (
        "在全市经济工作会议上的讲话\n\n同志们：\n\n一、在全市大会上的讲话精神要传达到位。\n\n"
        "二、认真学习习近平总书记在视察时的重要讲话\n\n各位代表\n\n2022年2月7日\n\n今年要开工项目100个。\n"
    )
    (part,) = split_speeches(text)
    assert part.title == "在全市经济工作会议上的讲话"
    assert "二、认真学习习近平总书记在视察时的重要讲话" in body(text, part)


def test_short_body_lines_are_neither_speakers_nor_chrome():
    text = (
        "在全市经济工作会议上的讲话\n\n总体要求\n\n（三）简化企业注册登记流程\n\n振兴老字号品牌\n\n"
        "学习贯彻省政府工作报告\n\n今年要开工项目100个。\n"
    )
    (part,) = split_speeches(text)
    assert part.speaker == ""  # "总体要求" does not start with a surname
    assert chrome_spans(text) == []
    assert body(text, part) == text[part.start : part.end]
    assert text[part.start :].startswith("总体要求")


def test_a_title_using_a_chrome_word_stays_a_title():
    text = "前文的结尾。\n在全市扫码办事推进会上的讲话\n今年要开工项目100个。\n微信扫码分享\n"
    parts = split_speeches(text)
    assert [p.title for p in parts] == ["", "在全市扫码办事推进会上的讲话"]
    assert [text[s:e] for s, e in chrome_spans(text)] == ["微信扫码分享"]
    assert body(text, parts[1]) == "今年要开工项目100个。"


def test_a_report_title_starts_a_speech_at_the_top_or_with_a_header():
    top = "2023年政府工作报告\n\n各位代表：今年要开工项目100个。"
    (part,) = split_speeches(top)
    assert part.title == "2023年政府工作报告" and not part.is_fragment
    later = "前文的结尾。\n\n市纪委监委工作报告\n（2023年1月5日）\n\n今年要查办案件100件。"
    assert [p.title for p in split_speeches(later)] == ["", "市纪委监委工作报告"]


def test_date_line_with_a_note():
    text = "在全市经济工作会议上的讲话\n（2022年12月28日，根据录音整理）\n今年要开工项目100个。"
    (part,) = split_speeches(text)
    assert part.date == datetime.date(2022, 12, 28)
    assert text[part.start : part.end] == "今年要开工项目100个。"


def test_empty_text_has_no_parts_and_no_pages():
    assert split_speeches("") == []
    assert split_speeches("\n\n   \n") == []
    assert pages("") == []


# --- counting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("讲话", 2),
        ("2022年", 5),  # each digit counts
        ("２０２２年", 5),  # full-width digits too
        ("二〇二二年", 5),  # 〇 is a Chinese numeral
        ("增长6.5%", 4),  # the point and the percent sign do not count
        ("GDP增长", 2),  # Latin letters do not count
        ("同志们：大家好！", 6),  # Chinese punctuation does not count
        ("a, b; (c) — …", 0),
        ("\u3000\u3000 \t\r\n", 0),
        ("𠀀㐀豈", 3),  # Extension B, Extension A, Compatibility ideographs
        ("①②×‰", 0),  # symbols and circled numbers are not digits of the text
    ],
)
def test_count_chars_rules(text, expected):
    assert count_chars(text) == expected


def test_count_chars_of_the_seed_body_counts_only_hanzi_and_digits(seed):
    _fragment, speech = split_speeches(seed)
    text = body(seed, speech)
    hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
    digits = len(re.findall(r"[0-9]", text))
    assert count_chars(text) == hanzi + digits
    assert digits > 0 and hanzi > 3000


@pytest.mark.parametrize(
    ("chars", "minutes"),
    [
        (0, 0),
        (1, 1),
        (299, 1),
        (300, 1),
        (301, 2),
        (600, 2),
        (601, 3),
        (193500, 645),
        (193501, 646),
        (193730, 646),
        (193800, 646),
        (193801, 647),
    ],
)
def test_reading_minutes_rounds_up_at_300_per_minute(chars, minutes):
    assert reading_minutes(chars) == minutes


def test_reading_minutes_refuses_negative_counts():
    with pytest.raises(ValueError):
        reading_minutes(-1)


# --- pages -----------------------------------------------------------------------------------


def assert_pages_cover(text: str, spans: list[tuple[int, int]], per_page: int) -> None:
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert e1 == s2
    for s, e in spans:
        assert s < e
        assert count_chars(text[s:e]) <= per_page


def test_seed_pages_cut_at_paragraph_ends(seed):
    spans = pages(seed, per_page=3000)
    assert len(spans) == 4
    assert_pages_cover(seed, spans, 3000)
    for _s, e in spans[:-1]:
        assert seed[e - 1] == "\n"
    assert len(pages(seed, per_page=100000)) == 1


def test_a_paragraph_longer_than_a_page_is_cut_at_sentence_ends():
    sentence = "今年要开工项目一百个。"  # 10 字
    text = sentence * 10 + "\n" + sentence
    spans = pages(text, per_page=25)
    assert_pages_cover(text, spans, 25)
    for _s, e in spans[:-1]:
        assert text[e - 1] in "。\n"
    unbroken = "项" * 70
    spans = pages(unbroken, per_page=25)
    assert [e - s for s, e in spans] == [25, 25, 20]


def test_pages_refuse_a_zero_page_size():
    with pytest.raises(ValueError):
        pages("讲话", per_page=0)


# --- reading files ---------------------------------------------------------------------------


def test_empty_file_is_refused():
    with pytest.raises(SpeechInputError, match=re.escape("文件“空.txt”是空文件")):
        read_text(b"", name="空.txt")
    with pytest.raises(SpeechInputError, match="空文件"):
        read_text(b"\xef\xbb\xbf \r\n\t", name="空白.txt")


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary\x00data",
        b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"abc\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 3,
    ],
)
def test_binary_file_is_refused(data):
    with pytest.raises(SpeechInputError, match=re.escape("文件“x.txt”是二进制文件")):
        read_text(data, name="x.txt")


def test_a_50_mb_file_is_refused_by_the_size_limit():
    data = "讲话".encode() * (50 * 1024 * 1024 // 6)
    assert len(data) > 49 * 1024 * 1024
    with pytest.raises(SpeechInputError) as caught:
        read_text(data, name="大文件.txt")
    message = str(caught.value)
    assert "大文件.txt" in message and "50 MB" in message and "上限 20 MB" in message


def test_size_limit_comes_from_settings_or_argument(settings):
    data = "今年要开工项目100个。".encode() * 100
    settings.GUATU_SPEECH_MAX_BYTES = 1024
    with pytest.raises(SpeechInputError, match=re.escape("上限 0.000977 MB")):
        read_text(data, name="x.txt")
    assert read_text(data, name="x.txt", max_bytes=len(data)).startswith("今年")
    with pytest.raises(SpeechInputError, match="超过上限"):
        read_text(data, name="x.txt", max_bytes=len(data) - 1)


def test_read_file_checks_the_size_before_reading(tmp_path, settings):
    path = tmp_path / "讲话.txt"
    path.write_bytes("今年要开工项目100个。".encode() * 100)
    settings.GUATU_SPEECH_MAX_BYTES = 100
    with pytest.raises(SpeechInputError, match=re.escape("讲话.txt")):
        read_file(path)
    settings.GUATU_SPEECH_MAX_BYTES = 10_000
    assert read_file(str(path)).startswith("今年要开工项目100个。")


def test_gbk_text_is_decoded(seed):
    text = seed.replace("\u2014", "-")  # the seed's banner dash is outside GBK
    for encoding in ("gbk", "gb18030"):
        assert read_text(text.encode(encoding), name="讲话.txt") == text
    parts = split_speeches(read_text(text.encode("gbk"), name="讲话.txt"))
    assert parts[1].title == "在全市高质量项目建设年动员大会上的讲话"


@pytest.mark.parametrize(
    ("prefix", "encoding"), [(b"\xef\xbb\xbf", "utf-8"), (b"", "utf-16"), (b"", "utf-8")]
)
def test_utf_encodings_are_decoded_and_the_bom_dropped(prefix, encoding):
    text = "在全市经济工作会议上的讲话\r\n市长 李四\r\n今年要开工项目100个。"
    assert read_text(prefix + text.encode(encoding), name="x.txt") == text  # utf-16 writes its BOM


def test_garbage_encoding_is_refused_with_a_clear_message():
    rng = random.Random(8)
    garbage = bytes(rng.randrange(0x80, 0x100) for _i in range(4000))
    with pytest.raises(
        SpeechInputError, match=re.escape("文件“乱码.txt”不是可识别的文本编码（UTF-8 或 GBK）")
    ):
        read_text(garbage, name="乱码.txt")
    # Chinese in Big5 is not GBK text either, even though many of its byte pairs decode as GBK.
    big5 = "今年要開工項目一百個，確保全年目標順利實現。經濟發展總體要求穩字當頭。".encode("big5") * 20
    with pytest.raises(SpeechInputError, match="不是可识别的文本编码"):
        read_text(big5, name="乱码.txt")


def test_docx_is_read_paragraph_by_paragraph(tmp_path):
    document = Document()
    for line in [
        "在全市经济工作会议上的讲话",
        "市委书记 王建国",
        "（2023年1月10日）",
        "同志们：",
        "今年要开工项目100个。",
    ]:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "任务"
    table.rows[0].cells[1].text = "完成时限"
    path = tmp_path / "讲话.docx"
    document.save(path)
    text = read_file(path)
    assert (
        text
        == "在全市经济工作会议上的讲话\n市委书记 王建国\n（2023年1月10日）\n同志们：\n今年要开工项目100个。\n任务\t完成时限"
    )
    (part,) = split_speeches(text)
    assert (part.title, part.speaker, part.position) == ("在全市经济工作会议上的讲话", "王建国", "市委书记")
    assert text[part.start : part.end].startswith("同志们：")


def test_docx_that_is_not_a_zip_or_is_empty_is_refused(tmp_path):
    with pytest.raises(SpeechInputError, match=re.escape("文件“假的.docx”不是有效的 Word 文件")):
        read_text("在全市经济工作会议上的讲话".encode(), name="假的.docx")
    path = tmp_path / "空.docx"
    Document().save(path)
    with pytest.raises(SpeechInputError, match="空文件"):
        read_file(path)


# --- properties ------------------------------------------------------------------------------

_PARAGRAPHS = st.one_of(
    st.text(alphabet="今年要开工项目一百个确保全年目标实现同志们，。！0123456789", min_size=1, max_size=60),
    st.sampled_from(
        [
            "在全市经济工作会议上的讲话",
            "赵立新同志在全市招商引资推进会上的讲话（摘要）",
            "政府工作报告",
            "——2023年1月10日在朝阳市第十七届人民代表大会第二次会议上",
            "中共朝阳市委书记 王建国",
            "市长 李四（2022年3月1日）",
            "李四",
            "(2022年2月7日)",
            "2022年2月7日",
            "微信扫码领取福利",
            "221381",
            "2022年2月领导讲话汇编(30篇)(第9/17页)",
            "上一篇：在全市安全生产工作会议上的讲话",
            "一、统一思想、凝聚共识",
            "",
            "　　",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    paragraphs=st.lists(_PARAGRAPHS, max_size=30),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    per_page=st.integers(min_value=1, max_value=80),
)
def test_parts_lie_in_the_text_in_order_without_overlap(paragraphs, newline, per_page):
    text = newline.join(paragraphs)
    parts = split_speeches(text)
    assert_well_formed(text, parts)
    for part in parts:
        assert not part.is_fragment or part is parts[0]  # only the first part can be a fragment
        assert len(body(text, part)) <= part.end - part.start
    spans = pages(text, per_page=per_page)
    if text:
        assert_pages_cover(text, spans, per_page)
    else:
        assert spans == []
