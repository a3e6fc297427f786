"""Speech texts: read a file, strip page chrome, split a compilation into speeches, count 字.

Pure Python (no models). Every offset is into the text exactly as decoded: nothing is rewritten
(no line-ending or whitespace normalisation), so `text[start:end]` is always what a reader saw and
what the extraction highlights.

Rules, chosen so they hold for speeches in general and not only for one site:

- A line is chrome (site banner, share/QR lines, counters, breadcrumbs, copyright, the page's
  own header and statistics) when it is short and made of the furniture of a web page; a long
  line of prose is never chrome.
- A speech starts at a title line ("在……上的讲话", "……工作报告", "XXX同志在……上的讲话"), optionally
  followed in any order by a subtitle ("——……"), a speaker line and a date line; or, without a
  title, at a speaker line next to a date line when body text follows. Text before the first
  such header is a fragment: a speech that began on an earlier page.
- 字 are counted as the compilation sites count them (see `count_chars`).
"""

from __future__ import annotations

import datetime
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from guatu.core import uploads

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHARS_PER_MINUTE = 300


class SpeechInputError(ValueError):
    """A file that cannot be read as a speech; the message (Chinese) names the file and the fault."""


# ---------------------------------------------------------------------------------------------
# Reading files


# Signatures of common binary formats: refused even when they happen to contain no NUL byte.
_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\xd0\xcf\x11\xe0",  # OLE: .doc, .xls
    b"PK\x03\x04",  # zip: .docx/.xlsx named as text
    b"Rar!",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
)
# C0 controls other than tab, newline, vertical tab, form feed, carriage return.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _max_bytes(max_bytes: int | None) -> int:
    if max_bytes is not None:
        return max_bytes
    return int(getattr(settings, "GUATU_SPEECH_MAX_BYTES", DEFAULT_MAX_BYTES))


def _check_size(size: int, *, name: str, max_bytes: int | None) -> None:
    try:
        uploads.check_size(size, limit=_max_bytes(max_bytes), name=name)
    except uploads.UploadRefused as err:
        raise SpeechInputError(err.message) from None


def _empty(name: str) -> SpeechInputError:
    return SpeechInputError(_("文件“%(name)s”是空文件，没有可读取的文字") % {"name": name})


def _binary(name: str) -> SpeechInputError:
    return SpeechInputError(
        _("文件“%(name)s”是二进制文件，不是文本文件（.txt）或 Word 文件（.docx）") % {"name": name}
    )


def _unknown_encoding(name: str) -> SpeechInputError:
    return SpeechInputError(_("文件“%(name)s”不是可识别的文本编码（UTF-8 或 GBK）") % {"name": name})


def _looks_like_gb_text(text: str) -> bool:
    """Whether text decoded as GB18030 is plausibly Chinese prose rather than mis-decoded bytes.

    GB18030 accepts most byte pairs, so a wrong guess still decodes; real text, however, is made
    almost entirely of the 6763 common characters of GB 2312 (and its punctuation), while random
    bytes land there only about a quarter of the time.
    """
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common / len(wide) >= 0.9


def _decode_plain(data: bytes, *, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encodings = ["utf-32"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        if data.startswith(_BINARY_MAGIC) or b"\x00" in data:
            raise _binary(name)
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and not _looks_like_gb_text(text):
            continue
        if "\x00" in text or len(_CONTROL_RE.findall(text)) > max(2, len(text) // 100):
            raise _binary(name)
        return text
    raise _unknown_encoding(name)


def _decode_docx(data: bytes, *, name: str, max_bytes: int | None = None) -> str:
    from docx import Document
    from docx.table import Table

    not_docx = SpeechInputError(_("文件“%(name)s”不是有效的 Word 文件（.docx），无法打开") % {"name": name})
    if uploads.sniff(data) != "zip":
        raise not_docx
    try:
        # Bounded before python-docx inflates anything: a zip bomb is refused here.
        uploads.check_office(
            io.BytesIO(data),
            name=name,
            max_inflated=_max_bytes(max_bytes) * uploads.INFLATE_RATIO,
            kinds=("docx",),
        )
    except uploads.UploadRefused as err:
        if err.code in ("zip_bomb", "too_large"):
            raise SpeechInputError(err.message) from None
        raise not_docx from None
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise not_docx from exc
    lines: list[str] = []
    # Body order matters (a title sits before its speech), so walk paragraphs and tables together.
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                lines.append("\t".join(cell.text for cell in row.cells))
        else:
            lines.append(block.text)
    return "\n".join(lines)


def read_text(data: bytes, *, name: str, max_bytes: int | None = None) -> str:
    """Decode an uploaded .txt or .docx into the text that every offset refers to.

    .txt: UTF-8 (with or without BOM), UTF-16/32 with BOM, or GB18030/GBK. .docx: paragraphs (and
    table rows, cells joined by tabs) joined by "\\n". The text is returned as decoded: line
    endings and spaces are kept, since offsets are into it.
    """
    _check_size(len(data), name=name, max_bytes=max_bytes)
    if not data:
        raise _empty(name)
    if name.lower().endswith(".docx"):
        text = _decode_docx(data, name=name, max_bytes=max_bytes)
    else:
        text = _decode_plain(data, name=name)
    if not text.strip():
        raise _empty(name)
    return text


def read_file(path: str | Path) -> str:
    """read_text on a file; the size is checked before the file is read."""
    path = Path(path)
    _check_size(path.stat().st_size, name=path.name, max_bytes=None)
    return read_text(path.read_bytes(), name=path.name)


# ---------------------------------------------------------------------------------------------
# Counting


# CJK ideographs: Unified (basic, Ext A-H), Compatibility (and supplement), and 〇 used as a numeral.
_HAN = (
    "\u3007"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uf900-\ufaff"
    "\U00020000-\U0002a6df"
    "\U0002a700-\U0002ebef"
    "\U0002f800-\U0002fa1f"
    "\U00030000-\U000323af"
)
_COUNTED_RE = re.compile(f"[{_HAN}0-9\uff10-\uff19]")


def count_chars(text: str) -> int:
    """字 as Chinese compilation sites count them: every Chinese character and every digit.

    Counted, one each: CJK ideographs (all Unified blocks, Compatibility ideographs, and 〇),
    ASCII digits 0-9 and full-width digits ０-９ ("2022年" is 5 字). Not counted: punctuation
    (Chinese or Western), whitespace, Latin letters ("GDP"), symbols (%, ‰, ×).
    """
    return len(_COUNTED_RE.findall(text))


def reading_minutes(chars: int) -> int:
    """Reading time in whole minutes at 300 字 per minute, rounded up (193730 字 → 646)."""
    if chars < 0:
        raise ValueError("chars must not be negative")
    return math.ceil(chars / CHARS_PER_MINUTE)


# ---------------------------------------------------------------------------------------------
# Lines and chrome


@dataclass(frozen=True)
class _Line:
    start: int  # first character of the line
    end: int  # end of its content (before the line terminator)
    next: int  # first character after the terminator
    text: str  # content stripped of surrounding whitespace


_EOL_RE = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> Iterator[_Line]:
    pos, size = 0, len(text)
    while pos < size:
        m = _EOL_RE.search(text, pos)
        end, nxt = (m.start(), m.end()) if m else (size, size)
        # str.strip also drops the ideographic space used to indent Chinese paragraphs.
        yield _Line(pos, end, nxt, text[pos:end].strip())
        pos = nxt


_PAGE_MARK = r"[（(]\s*第\s*(?P<page>\d+)\s*(?:/|页\s*[/，,]?\s*共)\s*(?P<pages>\d+)\s*页\s*[）)]"
_PAGE_HEADER_RE = re.compile(rf"^(?P<title>[^。！？]{{2,80}}?)\s*{_PAGE_MARK}$")
_COMPILATION_RE = re.compile(
    r"^(?P<title>[^。，,；！？]{2,60}?(?:汇编|选编|合集|文集|摘编|讲话稿|文稿)(?:\s*[（(]\s*\d+\s*篇\s*[）)])?)$"
)
_STATS_CHARS_RE = re.compile(r"共(?:计|有)?\s*(?P<n>\d[\d,，]*)\s*个?字")
_STATS_MINUTES_RE = re.compile(r"阅读(?:时长|时间|需要)?\s*[:：]?\s*(?:约|大约)?\s*(?P<n>\d+)\s*分钟")
_URL_RE = re.compile(r"https?://|www\.|\.(?:com|cn|net|org|gov)\b", re.IGNORECASE)
_NUMBER_LINE_RE = re.compile(r"^[\d,，.．\s]+$")
# Words that only the furniture of a web page uses. Matched in short lines only.
_CHROME_WORDS = (
    "扫码",
    "扫一扫",
    "二维码",
    "领取福利",
    "分享到",
    "分享给",
    "微信分享",
    "加入收藏",
    "收藏本站",
    "设为首页",
    "返回顶部",
    "返回首页",
    "返回列表",
    "上一页",
    "下一页",
    "上一篇",
    "下一篇",
    "责任编辑",
    "版权所有",
    "版权声明",
    "copyright",
    "©",
    "icp",
    "备案号",
    "点击量",
    "浏览量",
    "阅读量",
    "浏览次数",
    "阅读次数",
    "公众号",
    "打印本页",
    "关闭窗口",
    "推荐阅读",
    "相关文章",
    "相关推荐",
    "热门文章",
    "猜你喜欢",
    "文库",
    "记住我",
    "免费下载",
    "下载文档",
    "当前位置",
    "现在的位置",
    "如有侵权",
    "联系删除",
    "点击阅读",
    "展开全文",
)
# Tokens of a meta line such as "admin 分享 时间: 加入收藏 共计193730个字": a short line made only of
# these (and numbers, dates, times) is chrome.
_META_TOKEN_RE = re.compile(
    r"^(?:admin|管理员|分享|收藏|评论|点赞|打印|关闭|举报|纠错|复制|"
    r"(?:发布|发表|更新|上传)?(?:时间|日期|作者|来源|编辑|浏览|阅读|点击)[:：]?.*|"
    r"[\d:：\-/.年月日]+)$",
    re.IGNORECASE,
)
_META_PREFIX_RE = re.compile(
    r"^(?:发布|发表|更新|上传)?(?:时间|日期|作者|来源|编辑|浏览|点击|栏目|分类|标签)[:：]"
)
_DECOR_RE = re.compile(r"[◆◇■□★☆▲►»【】|]")
_SENTENCE_END_RE = re.compile(r"[。！？]")

# Numbered headings of a speech: "一、", "（三）", "2.", "第一，".
_ENUMERATED_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+[、.．]|第[一二三四五六七八九十]+[，,、：:])"
)
_SHORT = 60  # chrome lines are short; paragraphs of speeches are not


_FONT_SIZE_RE = re.compile(r"字号\s*[:：]?\s*[【\[]?\s*大")  # "【字号 大 中 小】", not "老字号"


def _is_chrome(line: str) -> bool:
    if not line:
        return False
    if _NUMBER_LINE_RE.match(line):
        return True  # counters and page numbers
    if _ENUMERATED_RE.match(line):
        return False  # "（三）简化企业注册登记" is a heading of the speech
    if len(line) > 120:
        return False
    if _PAGE_HEADER_RE.match(line) or _COMPILATION_RE.match(line):
        return True
    if _STATS_CHARS_RE.search(line) and (_STATS_MINUTES_RE.search(line) or "分享" in line or "admin" in line):
        return True
    if len(line) > _SHORT:
        return False
    if _URL_RE.search(line) or _FONT_SIZE_RE.search(line):
        return True
    lowered = line.lower()
    if any(word in lowered for word in _CHROME_WORDS):
        return True
    if _META_PREFIX_RE.match(line):
        return True
    tokens = line.split()
    if len(tokens) >= 2 and all(_META_TOKEN_RE.match(token) for token in tokens):
        return True
    # Breadcrumbs ("首页 > 领导讲话 > 正文") and decorated banners.
    breadcrumb = "首页" in line and any(mark in line for mark in (">", "＞", "»"))
    banner = bool(_DECOR_RE.search(line)) and not _SENTENCE_END_RE.search(line) and len(line) <= 40
    return breadcrumb or banner


def _is_chrome_line(line: str) -> bool:
    # A title that uses a chrome word ("在经验交流分享到会上的讲话") stays text.
    return _is_chrome(line) and not _is_title(line)


def chrome_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the lines that are page chrome (content only, without the line terminator)."""
    return [(ln.start, ln.end) for ln in _lines(text) if _is_chrome_line(ln.text)]


# ---------------------------------------------------------------------------------------------
# Headers: title, subtitle, speaker, date


_NAME = r"(?:[\u4e00-\u9fff](?:[ \u3000]*[\u4e00-\u9fff]){1,3}|[\u4e00-\u9fff]{1,4}·[\u4e00-\u9fff·]{1,10}|[×XＸ*＊○某]{2,4})"
_OFFICE = (
    r"(?:书记|副书记|市长|副市长|代市长|省长|副省长|代省长|县长|副县长|代县长|区长|副区长|代区长|州长|"
    r"旗长|盟长|镇长|乡长|主任|副主任|主席|副主席|部长|副部长|局长|副局长|厅长|副厅长|常委|委员|"
    r"秘书长|副秘书长|院长|副院长|检察长|总经理|董事长|主任委员|党组书记|会长|理事长|政委|司令员)"
)
_SPEAKER_RE = re.compile(
    rf"^(?P<pos>[\u4e00-\u9fff、（）()·\s]*?{_OFFICE})[\s\u3000:：]*(?P<name>{_NAME})(?:\s*同志)?$"
)
_BARE_NAME_RE = re.compile(rf"^(?P<name>{_NAME})(?:\s*同志)?$")
_NOT_A_NAME_RE = re.compile(r"们$|^各|大家|同志们|朋友|来宾|代表")
_CN_DIGITS = dict(zip("〇零一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_DATE_CORE = (
    r"(?P<y>\d{4}|[〇零一二三四五六七八九]{4})\s*年\s*"
    r"(?P<m>\d{1,2}|[一二三四五六七八九十]{1,2})\s*月\s*"
    r"(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
)
# "(2022年2月7日)", "2022年2月7日", "（2022年2月7日，根据录音整理）"
_DATE_LINE_RE = re.compile(rf"^[（(]?\s*{_DATE_CORE}\s*(?:[，,、\s][^（）()。]{{0,12}})?[）)]?$")
_DATE_ANY_RE = re.compile(_DATE_CORE)
_TRAILING_DATE_RE = re.compile(rf"[\s\u3000]*[（(]\s*{_DATE_CORE}\s*[）)]$")
_SUBTITLE_RE = re.compile(r"^(?:——|—|--|－－|──)\s*(?P<rest>\S.*)$")
_NOTE = r"(?:\s*[（(][^（）()]{1,12}[）)])?"
_TITLE_SPEECH_RE = re.compile(
    r"^(?:(?P<who>(?:(?!在)[\u4e00-\u9fff·、\s×XＸ]){2,30}?)(?:\s*同志)?[\s:：]*)?"
    r"在(?P<event>[^。！？；]{2,80}?)(?:上|中|时|期间|之际)的"
    r"(?:重要|总结|动员|主旨|开幕|闭幕|书面|专题|讲评|点评)?"
    rf"(?:讲话|致辞|发言|报告|工作报告|主持词|讲话提纲|辅导报告|党课|汇报)(?:提纲|稿)?{_NOTE}$"
)
_TITLE_REPORT_RE = re.compile(rf"^[^。！？；，,：:]{{0,40}}?(?:工作报告|政府工作报告){_NOTE}$")
_TITLE_OTHER_RE = re.compile(rf"^关于[^。！？；]{{2,60}}的(?:报告|讲话|说明){_NOTE}$")


def _cn_number(value: str) -> int:
    if value.isdigit() and value.isascii():
        return int(value)
    if len(value) == 4 and all(ch in _CN_DIGITS for ch in value):  # 二〇二二
        return int("".join(str(_CN_DIGITS[ch]) for ch in value))
    if "十" in value:
        tens, _sep, units = value.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    return _CN_DIGITS[value]


def _date_from(match: re.Match[str]) -> datetime.date | None:
    try:
        return datetime.date(_cn_number(match["y"]), _cn_number(match["m"]), _cn_number(match["d"]))
    except (ValueError, KeyError):
        return None


def _parse_date_line(line: str) -> datetime.date | None:
    m = _DATE_LINE_RE.match(line)
    return _date_from(m) if m else None


def _position(prefix: str) -> str:
    """The office in a speaker's prefix, without the party prefix and the place name."""
    pos = re.sub(r"\s+", "", prefix)
    pos = re.sub(r"^(?:中共|中国共产党)", "", pos)
    # "朝阳市委书记" → "市委书记", "朝阳市市长" → "市长": drop the place before its level.
    m = re.match(
        r"^[\u4e00-\u9fff]{2,8}?(?=[省市县区州盟旗](?:委|长|政府|人民政府|人大|政协|纪委|监委))", pos
    )
    if m:
        pos = pos[m.end() :]
    return pos


def _clean_name(name: str) -> str:
    return re.sub(r"[\s\u3000]+", "", name)


# Common surnames: a speaker's name starts with one, which keeps short body lines ("总体要求") from
# being taken for names.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅"
    "童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项"
    "连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞"
    "敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花"
    "权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母"
    "裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸"
    "奉植衡富尧闭由洪邢"
)
_PLACEHOLDER_RE = re.compile(r"^[×XＸ*＊○某]{2,4}$")


def _plausible_name(name: str) -> bool:
    return bool(name[0] in _SURNAMES or "·" in name or _PLACEHOLDER_RE.match(name))


def _parse_speaker(line: str) -> tuple[str, str] | None:
    """(speaker, position) of a speaker line such as "中共朝阳市委书记 张三", "市长 李四", "王五"."""
    if not line or len(line) > 40 or re.search(r"[。，,；;！!？?]", line):
        return None
    m = _SPEAKER_RE.match(line)
    if m and _plausible_name(_clean_name(m["name"])):
        return _clean_name(m["name"]), _position(m["pos"])
    m = _BARE_NAME_RE.match(line)
    if m and not _NOT_A_NAME_RE.search(m["name"]) and _plausible_name(_clean_name(m["name"])):
        return _clean_name(m["name"]), ""
    return None


def _parse_speaker_date(line: str) -> tuple[str, str, datetime.date] | None:
    """A speaker line with the date on it: "市长 李四（2022年3月1日）"."""
    m = _TRAILING_DATE_RE.search(line)
    if not m:
        return None
    date = _date_from(m)
    speaker = _parse_speaker(line[: m.start()].strip())
    if date is None or speaker is None:
        return None
    return speaker[0], speaker[1], date


_NAVIGATION_RE = re.compile(r"^(?:上一篇|下一篇|上一页|下一页|上篇|下篇|相关阅读|推荐阅读|相关文章|热门文章)")


def _is_title(line: str) -> bool:
    if not line or len(line) > 100 or _NAVIGATION_RE.match(line):
        return False
    core = _SUBTITLE_RE.sub(r"\g<rest>", line)
    if m := _ENUMERATED_RE.match(core):
        # A numbered heading is a title only as "3. 在……上的讲话" (a compilation numbering its items).
        core = core[m.end() :].strip()
        m = _TITLE_SPEECH_RE.match(core)
        return bool(m) and (not m["who"] or _parse_speaker(m["who"].strip()) is not None)
    m = _TITLE_SPEECH_RE.match(core)
    if m:
        # Whatever stands before "在" must be the speaker ("张三同志在……"), not a link label.
        return not m["who"] or _parse_speaker(m["who"].strip()) is not None
    return bool(_TITLE_REPORT_RE.match(core) or _TITLE_OTHER_RE.match(core))


@dataclass
class _Header:
    title: str = ""
    speaker: str = ""
    position: str = ""
    date: datetime.date | None = None
    last: int = 0  # index of the header's last line
    body_lines: list[int] = field(default_factory=list)
    is_fragment: bool = False


def _title_speaker(title: str) -> tuple[str, str] | None:
    """The speaker named in a title such as "张三同志在……上的讲话"."""
    m = _TITLE_SPEECH_RE.match(_SUBTITLE_RE.sub(r"\g<rest>", title))
    if not m or not m["who"]:
        return None
    return _parse_speaker(m["who"].strip())


def _meaningful(lines: list[_Line], kinds: list[str], start: int) -> Iterator[int]:
    for idx in range(start, len(lines)):
        if kinds[idx] == "body":
            yield idx


def _read_header(lines: list[_Line], kinds: list[str], idx: int) -> _Header | None:
    """The header starting at line idx, or None when the line does not start one.

    After a title come, in any order, at most one subtitle ("——…", right after the title), one
    speaker line and one date line (or a speaker line carrying the date).
    """
    first = lines[idx].text
    header = _Header(last=idx)
    if _is_title(first):
        header.title = first
        if _SUBTITLE_RE.match(first) and (dm := _DATE_ANY_RE.search(first)):
            header.date = _date_from(dm)
        if found := _title_speaker(first):
            header.speaker, header.position = found
        scan_from = idx + 1
    else:
        scan_from = idx
    for taken, j in enumerate(_meaningful(lines, kinds, scan_from)):
        line = lines[j].text
        if taken >= 4:
            break
        if header.title and taken == 0 and _SUBTITLE_RE.match(line) and not _SUBTITLE_RE.match(header.title):
            header.title = f"{header.title}{line}"
            if header.date is None and (dm := _DATE_ANY_RE.search(line)):
                header.date = _date_from(dm)
        elif header.date is None and (date := _parse_date_line(line)):
            header.date = date
        elif not header.speaker and header.date is None and (both := _parse_speaker_date(line)):
            header.speaker, header.position, header.date = both
        elif not header.speaker and (found := _parse_speaker(line)):
            header.speaker, header.position = found
        else:
            break
        header.last = j
    if header.title:
        return header
    # Without a title, only a speaker line together with a date starts a speech.
    if header.speaker and header.date:
        return header
    return None


# ---------------------------------------------------------------------------------------------
# Splitting


@dataclass(frozen=True)
class SpeechPart:
    title: str  # "" for a fragment without a title
    speaker: str  # "" when unknown
    position: str  # e.g. "市委书记"; "" when unknown
    date: datetime.date | None
    start: int  # the body's span in the text as read
    end: int
    is_fragment: bool  # began on an earlier page: no title line before it
    compilation: str  # e.g. "2022年2月领导讲话汇编(30篇)"; "" when the page does not say
    page: str  # e.g. "9/17"; "" when the page does not say


def _page_header(lines: list[_Line]) -> tuple[str, str]:
    compilation = page = ""
    for ln in lines:
        if len(ln.text) > 120:
            continue
        m = _PAGE_HEADER_RE.match(ln.text)
        if m:
            return m["title"].strip(), f"{int(m['page'])}/{int(m['pages'])}"
        m = _COMPILATION_RE.match(ln.text)
        if m and not compilation:
            compilation = m["title"].strip()
    return compilation, page


def _classify(lines: list[_Line]) -> list[str]:
    kinds = []
    for ln in lines:
        if not ln.text:
            kinds.append("blank")
        elif _is_chrome_line(ln.text):
            kinds.append("chrome")
        else:
            kinds.append("body")
    return kinds


def _has_body(lines: list[_Line], kinds: list[str], start: int) -> bool:
    for j in _meaningful(lines, kinds, start):
        return not _is_title(lines[j].text)
    return False


def split_speeches(text: str) -> list[SpeechPart]:
    """The speeches of a text in order; bodies exclude chrome, title, speaker and date lines."""
    lines = list(_lines(text))
    kinds = _classify(lines)
    compilation, page = _page_header(lines)
    headers: list[_Header] = []
    idx = 0
    while idx < len(lines):
        if kinds[idx] != "body":
            idx += 1
            continue
        header = _read_header(lines, kinds, idx)
        weak_title = (
            header
            and header.title
            and not _TITLE_SPEECH_RE.match(_SUBTITLE_RE.sub(r"\g<rest>", lines[idx].text))
        )
        # "……工作报告" is a common phrase too: mid-text it needs a speaker, date or subtitle.
        if weak_title and headers and header.last == idx:
            header = None
        if header and (header.title or _has_body(lines, kinds, header.last + 1)):
            # "——在……上的讲话" under a main title: the main title line was taken for body text.
            if _SUBTITLE_RE.match(header.title) and headers and headers[-1].body_lines:
                prev = headers[-1].body_lines[-1]
                main = lines[prev].text
                if (
                    len(main) <= 40
                    and not re.search(r"[。，,；;！!？?：:]", main)
                    and not _ENUMERATED_RE.match(main)
                ):
                    headers[-1].body_lines.pop()
                    header.title = f"{main}{header.title}"
                    if headers[-1].is_fragment and not headers[-1].body_lines:
                        headers.pop()  # the "fragment" was only this main title
            headers.append(header)
            idx = header.last + 1
            continue
        if not headers:
            headers.append(_Header(last=idx - 1, is_fragment=True))
        headers[-1].body_lines.append(idx)
        idx += 1
    parts = []
    for header in headers:
        if header.body_lines:
            start, end = lines[header.body_lines[0]].start, lines[header.body_lines[-1]].end
        else:
            start = end = lines[header.last].end if header.last >= 0 else 0
        parts.append(
            SpeechPart(
                title=header.title,
                speaker=header.speaker,
                position=header.position,
                date=header.date,
                start=start,
                end=end,
                is_fragment=header.is_fragment,
                compilation=compilation,
                page=page,
            )
        )
    return parts


def body(text: str, part: SpeechPart) -> str:
    """The part's text with chrome lines (and their line breaks) removed; nothing else changes."""
    pieces = []
    for ln in _lines(text[part.start : part.end]):
        if not _is_chrome_line(ln.text):
            pieces.append(text[part.start + ln.start : part.start + ln.next])
    return "".join(pieces)


# ---------------------------------------------------------------------------------------------
# Pages and the page's own statistics


_SENTENCE_CUT_RE = re.compile(r"[。！？；!?;]+[”’」』）)]*")


def _pieces(text: str, start: int, end: int) -> Iterator[int]:
    """Ends of the sentences in text[start:end], the last one being end."""
    for m in _SENTENCE_CUT_RE.finditer(text, start, end):
        if m.end() < end:
            yield m.end()
    yield end


def pages(text: str, *, per_page: int = 3000) -> list[tuple[int, int]]:
    """Consecutive spans covering the text, each at most per_page 字 (count_chars), cut at the end
    of a paragraph; a paragraph longer than a page is cut at sentence ends, and a sentence longer
    than a page wherever the page is full."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    spans: list[tuple[int, int]] = []
    page_start, used = 0, 0

    def add(piece_start: int, piece_end: int) -> None:
        nonlocal page_start, used
        chars = count_chars(text[piece_start:piece_end])
        if used and used + chars > per_page:
            spans.append((page_start, piece_start))
            page_start, used = piece_start, 0
        if chars <= per_page:
            used += chars
            return
        # A single piece larger than a page: fill pages character by character.
        pos = piece_start
        for m in _COUNTED_RE.finditer(text, piece_start, piece_end):
            used += 1
            if used == per_page:
                pos = m.end()
                spans.append((page_start, pos))
                page_start, used = pos, 0

    for ln in _lines(text):
        chars = count_chars(text[ln.start : ln.next])
        if chars <= per_page:
            add(ln.start, ln.next)
            continue
        prev = ln.start
        for cut in _pieces(text, ln.start, ln.next):
            add(prev, cut)
            prev = cut
    if page_start < len(text):
        spans.append((page_start, len(text)))
    return spans


def compilation_stats(text: str) -> dict | None:
    """What the page says about its compilation: {"chars", "minutes", "title", "page", "pages"}.

    Values the page does not state are None (title ""); None when it states none of them.
    """
    stats: dict = {"chars": None, "minutes": None, "title": "", "page": None, "pages": None}
    for ln in _lines(text):
        if not ln.text or len(ln.text) > 120 or not _is_chrome_line(ln.text):
            continue
        m = _PAGE_HEADER_RE.match(ln.text)
        if m and not stats["title"]:
            stats.update(title=m["title"].strip(), page=int(m["page"]), pages=int(m["pages"]))
        m = _COMPILATION_RE.match(ln.text)
        if m and not stats["title"]:
            stats["title"] = m["title"].strip()
        m = _STATS_CHARS_RE.search(ln.text)
        if m and stats["chars"] is None:
            stats["chars"] = int(re.sub(r"[,，]", "", m["n"]))
        m = _STATS_MINUTES_RE.search(ln.text)
        if m and stats["minutes"] is None:
            stats["minutes"] = int(m["n"])
    if stats["chars"] is None and stats["minutes"] is None and not stats["title"]:
        return None
    return stats
