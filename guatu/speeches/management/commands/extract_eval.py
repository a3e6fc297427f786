"""`guatu extract_eval`: precision and recall of the extractor on the labelled examples.

A prediction matches a label when kind, value and unit agree and the spans overlap (EXTRACTION.md's
matching rule); each label matches at most one prediction. Comparator and period agreement are
reported over the matched pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guatu.speeches.extraction import extract

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"


def load_labelled(paths=None) -> list[dict]:
    """The labelled documents, each label given its offsets (labels are in text order)."""
    paths = sorted(paths or DATA_DIR.glob("labelled_*.jsonl"))
    docs = []
    for path in paths:
        for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            doc = json.loads(line)
            cursor = 0
            for label in doc["items"]:
                found = doc["text"].find(label["span"], cursor)
                if found < 0:
                    raise ValueError(f"{Path(path).name} 第{line_no}行：找不到标注片段“{label['span']}”")
                label["start"], label["end"] = found, found + len(label["span"])
                cursor = found
            docs.append(doc)
    return docs


def _same_value(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def _matches(pred, label) -> bool:
    return (
        pred.kind == label["kind"]
        and pred.unit == label["unit"]
        and _same_value(pred.value, label["value"])
        and pred.start < label["end"]
        and label["start"] < pred.end
    )


def evaluate(docs: list[dict]) -> dict:
    tp = n_pred = n_label = 0
    comparator_ok = period_ok = value_max_ok = 0
    negative_hits: list[str] = []
    missed: list[str] = []
    spurious: list[str] = []
    disagreements: list[str] = []
    for doc in docs:
        text = doc["text"]
        preds = extract(text, year=doc.get("year"))
        n_pred += len(preds)
        n_label += len(doc["items"])
        used: set[int] = set()
        for label in doc["items"]:
            hit = next((i for i, p in enumerate(preds) if i not in used and _matches(p, label)), None)
            if hit is None:
                missed.append(
                    f"{doc['id']}: {label['span']} ({label['kind']} {label['value']} {label['unit']})"
                )
                continue
            used.add(hit)
            tp += 1
            pred = preds[hit]
            comparator_ok += pred.comparator == label["comparator"]
            period_ok += pred.period == label["period"]
            if pred.period != label["period"] or pred.comparator != label["comparator"]:
                disagreements.append(
                    f"{doc['id']}: {label['span']} period {pred.period}≠{label['period']} "
                    f"or comparator {pred.comparator}≠{label['comparator']}"
                )
            value_max_ok += _same_value(pred.value_max, label.get("value_max"))
        for i, pred in enumerate(preds):
            if i not in used:
                spurious.append(
                    f"{doc['id']}: {text[pred.start : pred.end]} ({pred.kind} {pred.value} {pred.unit})"
                )
        for phrase in doc.get("negatives", []):
            at = text.find(phrase)
            while at >= 0:
                if any(p.start < at + len(phrase) and at < p.end and p.kind != "task" for p in preds):
                    negative_hits.append(f"{doc['id']}: {phrase}")
                at = text.find(phrase, at + 1)
    return {
        "documents": len(docs),
        "labels": n_label,
        "predictions": n_pred,
        "true_positives": tp,
        "precision": round(tp / n_pred, 4) if n_pred else 0.0,
        "recall": round(tp / n_label, 4) if n_label else 0.0,
        "comparator_agreement": round(comparator_ok / tp, 4) if tp else 0.0,
        "period_agreement": round(period_ok / tp, 4) if tp else 0.0,
        "value_max_agreement": round(value_max_ok / tp, 4) if tp else 0.0,
        "negatives": sum(len(d.get("negatives", [])) for d in docs),
        "negative_hits": negative_hits,
        "missed": missed,
        "spurious": spurious,
        "disagreements": disagreements,
    }


class Command(BaseCommand):
    help = "在标注样例上评估数量抽取的查准率与查全率"

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="标注文件（JSONL）；默认为内置的 labelled_*.jsonl")
        parser.add_argument("--details", action="store_true", help="列出漏抽与误抽的条目")

    def handle(self, *args, **options):
        try:
            docs = load_labelled(options["files"] or None)
        except (OSError, ValueError, KeyError) as err:
            raise CommandError(f"无法读取标注文件：{err}") from None
        result = evaluate(docs)
        if not options["details"]:
            result = {k: v for k, v in result.items() if k not in ("missed", "spurious", "disagreements")}
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
