import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SEED = Path(__file__).resolve().parent / "data" / "seed_000.txt"  # ../shared/seed/000_16491a11ba5dc244.txt
EXPECTED = {"120个", "191个", "200个以上", "1000个以上", "5000万元", "92项", "8个", "17条"}


def run(*args) -> str:
    out = StringIO()
    call_command("extract", *args, stdout=out)
    return out.getvalue()


def quoted(text: str, data: dict) -> set[str]:
    return {text[i["start"] : i["end"]] for s in data["speeches"] for i in s["items"] if i["kind"] != "task"}


def test_json_on_the_seed():
    data = json.loads(run(str(SEED), "--json"))
    text = SEED.read_text(encoding="utf-8")
    assert [s["title"] for s in data["speeches"]] == ["", "在全市高质量项目建设年动员大会上的讲话"]
    second = data["speeches"][1]
    assert (second["speaker"], second["date"]) == ("张淑萍", "2022-02-07")
    assert second["chars"] > 3000 and second["reading_minutes"] == -(-second["chars"] // 300)
    assert quoted(text, data) == EXPECTED
    funding = next(i for i in second["items"] if i["kind"] == "funding")
    assert (funding["value"], funding["unit"]) == (50_000_000, "元")
    task = next(i for i in second["items"] if i["kind"] == "task")
    assert (task["deadline"], text[task["start"] : task["end"]]) == (
        "2022-04-30",
        "4月份全市要组织一次项目集中开工",
    )


def test_year_option_dates_a_text_without_date(tmp_path):
    path = tmp_path / "speech.txt"
    path.write_text("今年要新开工项目150个，一季度开工40个。\n", encoding="utf-8")
    data = json.loads(run(str(path), "--json", "--year", "2024"))
    assert [i["period"] for i in data["speeches"][0]["items"]] == ["2024", "2024Q1"]
    data = json.loads(run(str(path), "--json"))
    assert [i["period"] for i in data["speeches"][0]["items"]] == ["全年", "Q1"]


def test_readable_table():
    out = run(str(SEED))
    assert "在全市高质量项目建设年动员大会上的讲话" in out
    assert "目标\t开工项目\t120 个\t2022Q1" in out
    assert "资金\t项目前期工作经费\t50,000,000 元" in out
    assert "任务\t组织一次项目集中开工\t截止 2022-04-30\t2022-04" in out
    assert "≥200 个" in out


def test_gbk_file_is_decoded_and_offsets_follow_the_decoded_text(tmp_path):
    text = SEED.read_text(encoding="utf-8")
    path = tmp_path / "gbk.txt"
    path.write_bytes(text.encode("gbk"))
    data = json.loads(run(str(path), "--json"))
    assert quoted(text, data) == EXPECTED


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "空文件"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "二进制文件"),
        (bytes(range(256)) * 4, "二进制文件"),
    ],
)
def test_bad_files_are_refused_in_chinese(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as err:
        run(str(path))
    assert "bad.txt" in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CommandError, match="不存在"):
        run(str(tmp_path / "nothing.txt"))
    with pytest.raises(CommandError):
        run(str(tmp_path))


def test_file_over_the_size_limit_is_refused(tmp_path, settings):
    settings.GUATU_SPEECH_MAX_BYTES = 1000
    path = tmp_path / "big.txt"
    path.write_text("增长6%。" * 500, encoding="utf-8")
    with pytest.raises(CommandError, match="超过上限"):
        run(str(path))


def test_unreasonable_year_is_refused():
    with pytest.raises(CommandError, match="年份“1800”不合理"):
        run(str(SEED), "--year", "1800")


def test_console_script_exits_1_with_a_chinese_message(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    guatu = Path(sys.executable).parent / "guatu"
    proc = subprocess.run(
        [str(guatu), "extract", str(path)], capture_output=True, text=True, env={**os.environ}, check=False
    )
    assert proc.returncode == 1
    assert "空文件" in proc.stderr and proc.stdout == ""


def test_extract_eval_command_prints_precision_and_recall():
    out = StringIO()
    call_command("extract_eval", stdout=out)
    data = json.loads(out.getvalue())
    assert data["labels"] >= 120 and 0 <= data["precision"] <= 1 and 0 <= data["recall"] <= 1


def test_bench_extract_command_reports_figures():
    out = StringIO()
    call_command("bench_extract", "--chars", "20000", "--runs", "1", stdout=out)
    data = json.loads(out.getvalue())
    assert data["large"]["chars"] == 20000 and data["large"]["items"] > 0
    assert data["seed"]["items"] == 9 and data["seed"]["median_ms"] > 0
