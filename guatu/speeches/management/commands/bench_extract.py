"""`guatu bench_extract [--chars 200000]`: how fast extraction runs on this machine.

Times the whole seed file (split, chrome skipped, every speech extracted) and a long text built by
repeating varied paragraphs (the seed's and the labelled examples'), median of `--runs` runs each,
and prints the figures as JSON. Goals (issue 8): seed < 0.5 s, 200,000 characters < 3 s.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guatu.speeches.extraction import extract, extract_document
from guatu.speeches.management.commands.extract_eval import load_labelled
from guatu.speeches.text import SpeechInputError, read_file

SEED = Path(settings.BASE_DIR) / "guatu" / "demo" / "data" / "speech_2022_02_p9.txt"  # the seed speech
GOAL_SEED_MS = 500
GOAL_LARGE_MS = 3000


def build_text(paragraphs: list[str], chars: int) -> str:
    """`chars` characters of paragraphs taken in turn, so the text stays varied."""
    out: list[str] = []
    total = 0
    i = 0
    while total < chars:
        paragraph = paragraphs[i % len(paragraphs)].strip() + "\n"
        out.append(paragraph)
        total += len(paragraph)
        i += 1
    return "".join(out)[:chars]


def _time(fn, runs: int) -> tuple[float, list[float], int]:
    times = []
    result = None
    for _run in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times, result


class Command(BaseCommand):
    help = "测量抽取速度：种子讲话全文与重复段落构成的长文本（取中位数）"

    def add_arguments(self, parser):
        parser.add_argument("--chars", type=int, default=200_000, help="长文本的字符数（默认 200000）")
        parser.add_argument("--runs", type=int, default=5, help="每项测量的次数（默认 5，取中位数）")
        parser.add_argument("--seed", default=str(SEED), help="种子讲话文件")

    def handle(self, *args, **options):
        chars, runs = options["chars"], options["runs"]
        if chars < 1:
            raise CommandError(_("字符数须为正整数（现为 %(n)s）") % {"n": chars})
        if runs < 1:
            raise CommandError(_("测量次数须为正整数（现为 %(n)s）") % {"n": runs})
        try:
            seed_text = read_file(options["seed"])
        except (SpeechInputError, OSError) as err:
            raise CommandError(
                _("无法读取种子文件“%(path)s”：%(error)s") % {"path": options["seed"], "error": err}
            ) from None
        seed_ms, seed_runs, speeches = _time(lambda: extract_document(seed_text), runs)
        seed_items = sum(len(s["items"]) for s in speeches)

        paragraphs = [p for p in seed_text.splitlines() if len(p.strip()) > 40]
        paragraphs += [line for doc in load_labelled() for line in doc["text"].splitlines() if line.strip()]
        large = build_text(paragraphs, chars)
        large_ms, large_runs, items = _time(lambda: extract(large, year=2024), runs)

        result = {
            "seed": {
                "chars": len(seed_text),
                "items": seed_items,
                "median_ms": round(seed_ms, 1),
                "runs_ms": [round(t, 1) for t in seed_runs],
                "chars_per_s": round(len(seed_text) / (seed_ms / 1000)),
                "goal_ms": GOAL_SEED_MS,
                "ok": seed_ms < GOAL_SEED_MS,
            },
            "large": {
                "chars": len(large),
                "paragraphs": len(paragraphs),
                "items": len(items),
                "median_ms": round(large_ms, 1),
                "runs_ms": [round(t, 1) for t in large_runs],
                "chars_per_s": round(len(large) / (large_ms / 1000)),
                "goal_ms": GOAL_LARGE_MS * len(large) / 200_000,
                "ok": large_ms < GOAL_LARGE_MS * len(large) / 200_000,
            },
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
