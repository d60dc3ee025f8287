"""Sends the real visitors' questions (tests/nlu/real_questions.yml) through the running assistant
and judges each reply by the answer it gave (tests/nlu/reply_judge.py).

Used by tests/e2e/test_real_questions.py (the held-out pool, gated) and, while developing, from
the command line on either pool::

    .venv/bin/python -m tests.nlu.real_questions_eval --pool train --url http://127.0.0.1:5005
"""

import argparse
import json
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

import yaml

from tests.nlu.reply_judge import Judge, topic_of, verdict

QUESTIONS = Path(__file__).resolve().parent / "real_questions.yml"
# A second set from other sources, for tuning while developing (never the gate).
DEV_QUESTIONS = Path(__file__).resolve().parent / "real_questions_dev.yml"
# A third set from still other sources, collected later (measured once before tuning on it).
DEV2_QUESTIONS = Path(__file__).resolve().parent / "real_questions_dev2.yml"
DEV_POOLS = {"dev": DEV_QUESTIONS, "dev2": DEV2_QUESTIONS}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARTICLE_TOPICS = {
    "what_is_microcurrent",
    "how_it_works",
    "history",
    "results",
    "experience",
    "vs_surgery",
    "celebrities",
    "other_uses",
    "suitability",
    "safety",
    "clinic_service",
    "memberships",
}


def questions(pool: str) -> List[Dict[str, Any]]:
    """The questions of one pool ("heldout", "train", "dev" or "dev2"), each with its source's
    address."""
    path = DEV_POOLS.get(pool, QUESTIONS)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = {s["id"]: s for s in data["sources"]}
    return [
        {**q, "url": sources[q["source"]]["url"]}
        for q in data["questions"]
        if pool in DEV_POOLS or sources[q["source"]]["pool"] == pool
    ]


def ask(base_url: str, text: str, timeout: float = 60) -> List[Dict[str, Any]]:
    """One question in a new conversation; the bot's messages."""
    body = json.dumps({"sender": f"realq-{uuid.uuid4().hex[:16]}", "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/website/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def evaluate(base_url: str, pool: str = "heldout", workers: int = 4) -> Dict[str, Any]:
    """Every question of the pool asked and judged; the figures and every judged reply."""
    judge = Judge.from_content()
    items = questions(pool)

    def run(item):
        reply = ask(base_url, item["text"])
        classes = judge.classes(reply)
        return {
            "text": item["text"],
            "expect": item["expect"],
            "url": item["url"],
            "classes": classes,
            "verdict": verdict(classes, item["expect"]),
            "reply": [m.get("text") for m in reply],
        }

    with ThreadPoolExecutor(max_workers=workers) as pool_:
        results = list(pool_.map(run, items))
    counts = Counter(r["verdict"] for r in results)
    by_topic: Dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_topic[topic_of(r["expect"])][r["verdict"]] += 1
    total = len(results) or 1
    return {
        "pool": pool,
        "questions": len(results),
        "correct": counts["correct"],
        "honest": counts["honest"],
        "wrong": counts["wrong"],
        "correct_share": round(counts["correct"] / total, 4),
        "wrong_share": round(counts["wrong"] / total, 4),
        "honest_share": round(counts["honest"] / total, 4),
        "topics": {
            topic: {
                "questions": sum(c.values()),
                "correct": c["correct"],
                "share": round(c["correct"] / sum(c.values()), 3),
            }
            for topic, c in sorted(by_topic.items())
        },
        "results": results,
    }


def write_report(report: Dict[str, Any], name: str) -> Path:
    """The figures as JSON and every miss as Markdown, under test-artifacts/ (CI keeps it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    lines = [
        f"# Real questions ({report['pool']}): {report['questions']} questions",
        "",
        f"correct {report['correct']}, honest non-answer {report['honest']}, "
        f"confidently wrong {report['wrong']}",
        "",
    ]
    for kind in ("wrong", "honest"):
        lines.append(f"## {kind}")
        for r in report["results"]:
            if r["verdict"] == kind:
                lines.append(
                    f"- **{r['text']}** (expected {', '.join(r['expect'])}; got "
                    f"{', '.join(r['classes']) or 'nothing'}) <{r['url']}>"
                )
                lines.append(f"  > {' / '.join(t[:160] for t in r['reply'] if t)}")
        lines.append("")
    path = ARTIFACTS / f"{name}-failures.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--pool", default="train", choices=("train", "heldout", "dev", "dev2"))
    args = parser.parse_args()
    report = evaluate(args.url, args.pool)
    path = write_report(report, f"real-questions-{args.pool}")
    summary = {k: v for k, v in report.items() if k not in ("results",)}
    print(json.dumps(summary, indent=1))
    print(f"misses: {path}")


if __name__ == "__main__":
    main()
