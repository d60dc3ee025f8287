"""Measures intent classification on the held-out set (tests/nlu/heldout.yml).

Used by the gate test (tests/nlu/test_heldout_gates.py) on the trained model, and by hand to
compare NLU configurations (docs/nlu.md):

    .venv/bin/python scripts/evaluate_nlu.py                     # the trained model
    .venv/bin/python scripts/evaluate_nlu.py --config other.yml  # first trains NLU on data/nlu

Writes a JSON report (accuracy, macro-F1, out-of-scope recall, per-intent scores, the most
frequent confusions, training time, parse latency) to --report.
"""

import argparse
import asyncio
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
HELDOUT = PROJECT_DIR / "tests" / "nlu" / "heldout.yml"
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"
# "Not understood" and "out of scope" both mean the bot does not attempt an answer.
OUT_OF_SCOPE_LABELS = {"out_of_scope", "nlu_fallback"}
# Intents added after the held-out sets were written split some of their labels: a message the
# sets call out_of_scope may now be a medical question or another treatment, an "unknown other"
# fact may be about home devices, aftercare or other treatments, and an aftercare question was
# an "experience" one. Each of these gives an honest non-answer like the label it refines, so
# it counts as correct (docs/nlu.md, "Intents added in issue 16").
REFINEMENTS = {
    "out_of_scope": OUT_OF_SCOPE_LABELS | {"ask_medical_advice", "ask_other_treatments"},
    "ask_unknown_other": {"ask_home_devices", "ask_aftercare", "ask_other_treatments"},
    "ask_experience": {"ask_aftercare"},
}


def counts_as(gold: str, predicted: str) -> bool:
    """True when the prediction is the gold label or one of its refinements."""
    return gold == predicted or predicted in REFINEMENTS.get(gold, ())


def load_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs from a Rasa NLU YAML file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def train_nlu(config: Path, output: Path) -> Tuple[Path, float]:
    """Train an NLU-only model; returns its path and the training seconds."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    started = time.monotonic()
    model = rasa_train_nlu(
        str(config),
        str(PROJECT_DIR / "data" / "nlu"),
        str(output),
        domain=str(PROJECT_DIR / "domain.yml"),
    )
    return Path(model), time.monotonic() - started


def parse_all(model: Path, texts: List[str]) -> Tuple[List[Dict], List[float]]:
    """Parse every text with the model; returns parse results and per-message seconds."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    results, seconds = [], []

    async def run() -> None:
        for text in texts:
            started = time.perf_counter()
            results.append(await agent.parse_message(text))
            seconds.append(time.perf_counter() - started)

    # In a thread of its own: the caller may already run an event loop (pytest-asyncio).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
    return results, seconds


def score(gold: List[str], predicted: List[str]) -> Dict:
    """Accuracy, macro-F1, per-intent precision/recall/F1, out-of-scope recall, confusions."""
    raw = predicted
    predicted = [
        g if counts_as(g, p) else p for g, p in zip(gold, raw, strict=True)
    ]  # refinements as gold
    labels = sorted(set(gold))
    per_intent = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "support": tp + fn,
        }
    # A message predicted as nlu_fallback counts as correct for out_of_scope (no answer given),
    # and a refinement (REFINEMENTS) as its gold label.
    correct = [counts_as(g, p) for g, p in zip(gold, raw, strict=True)]
    oos = [c for g, c in zip(gold, correct, strict=True) if g == "out_of_scope"]
    confusions = Counter((g, p) for g, p, c in zip(gold, raw, correct, strict=True) if not c)
    return {
        "examples": len(gold),
        "accuracy": round(sum(correct) / len(gold), 4),
        "macro_f1": round(statistics.mean(v["f1"] for v in per_intent.values()), 4),
        "out_of_scope_recall": round(sum(oos) / len(oos), 4) if oos else None,
        "per_intent": per_intent,
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(25)
        ],
    }


def evaluate(model: Path, heldout: Path = HELDOUT) -> Dict:
    """Score a trained model on a held-out set, with parse latency."""
    examples = load_examples(heldout)
    texts = [t for t, _ in examples]
    results, seconds = parse_all(model, texts)
    predicted = [r["intent"]["name"] for r in results]
    report = score([g for _, g in examples], predicted)
    ordered = sorted(seconds)
    report["parse_ms_p50"] = round(1000 * ordered[len(ordered) // 2], 2)
    report["parse_ms_p95"] = round(1000 * ordered[int(len(ordered) * 0.95)], 2)
    report["errors"] = [
        {"text": t, "gold": g, "predicted": p, "confidence": round(r["intent"]["confidence"], 3)}
        for (t, g), p, r in zip(examples, predicted, results, strict=True)
        if not counts_as(g, p)
    ]
    return report


# Not questions: a greeting or thanks next to a question needs no answer of its own.
NOT_COUNTED_PARTS = {"greet", "thank", "goodbye"}
HEALTH_ENTITIES = {"condition", "uncovered_condition", "urgent_symptom"}
# A disclosure reply is the answer to these (actions/respond.py ANSWERED_BY_DISCLOSURE).
ANSWERED_BY_A_DISCLOSURE = {"inform_condition", "ask_safety", "ask_suitability", "request_human"}


def answered_parts(result: Dict) -> List[str]:
    """What the assistant addresses for one parse result, as the actions plan it.

    The question parts of ``actions.respond.message_parts`` (split parts or the intent's),
    the booking / hand-off form a top intent ``book`` / ``request_human`` starts, and the
    disclosure reply when the contraindication detector found a condition.
    """
    from actions.respond import UNANSWERED_KINDS, message_parts
    from clinic_content.store import get_store

    entities = result.get("entities") or []
    parts = [
        p
        for p in message_parts(result["intent"]["name"], entities)
        if p not in ("nlu_fallback", *NOT_COUNTED_PARTS)
    ]
    if any(e.get("entity") in HEALTH_ENTITIES for e in entities):
        parts = [p for p in parts if p not in ("book", "request_human")]
        if len(parts) > 1:  # as plan_reply: beside a disclosure only the unknown-fact answers
            known = get_store().get().answer_for_intent
            parts = [p for p in parts if p in known and known[p].kind in UNANSWERED_KINDS]
        parts += [p for p in ANSWERED_BY_A_DISCLOSURE if p not in parts]
    return parts


MULTI_PART = HELDOUT.with_name("multi_part.yml")


def evaluate_multi_part(model: Path, path: Path = MULTI_PART) -> Dict:
    """Messages asking several things: how many get every part, or at least one, answered.

    ``intents`` in the file lists what a message asks; greetings and thanks are not counted.
    Messages with one counted intent are single questions (often containing "and") and must
    get one answer: ``false_splits`` counts those given two or more answers. ``extra_answers``
    counts answers to something the message did not ask (a disclosure reply is not counted).
    """
    import yaml

    items = yaml.safe_load(path.read_text())
    results, _ = parse_all(model, [item["text"] for item in items])
    report: Dict[str, Any] = {
        "messages": len(items),
        "multi": 0,
        "all_answered": 0,
        "at_least_one_answered": 0,
        "singles": 0,
        "false_splits": 0,
        "extra_answers": 0,
        "intents_both_found": 0,
        "at_least_one_found": 0,
        "misses": [],
    }
    for item, result in zip(items, results, strict=True):
        gold = [i for i in item["intents"] if i not in NOT_COUNTED_PARTS]
        predicted = set(result["intent"]["name"].split("+"))
        report["intents_both_found"] += predicted == set(item["intents"])
        report["at_least_one_found"] += bool(predicted & set(item["intents"]))
        got = answered_parts(result)
        implied = ANSWERED_BY_A_DISCLOSURE if "inform_condition" in got else set()
        extra = [p for p in got if p not in gold and p not in implied]
        report["extra_answers"] += len(extra)
        if len(gold) >= 2:
            report["multi"] += 1
            report["all_answered"] += set(gold) <= set(got)
            report["at_least_one_answered"] += bool(set(gold) & set(got))
        else:
            report["singles"] += 1
            report["false_splits"] += len([p for p in got if p not in implied]) >= 2
        if extra or not set(gold) <= set(got):
            report["misses"].append({"text": item["text"], "asked": gold, "answered": got})
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, help="train an NLU-only model with this config first"
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    parser.add_argument("--report", type=Path, default=PROJECT_DIR / "results" / "nlu-heldout.json")
    parser.add_argument(
        "--multi-part",
        type=Path,
        action="append",
        default=[],
        help="also score a multi-part file (tests/nlu/multi_part*.yml); repeatable",
    )
    args = parser.parse_args()
    train_seconds = None
    model = args.model
    if args.config:
        model, train_seconds = train_nlu(args.config, Path(tempfile.mkdtemp(prefix="nlu-eval-")))
    for path in args.multi_part:
        multi = evaluate_multi_part(model, path)
        print(path.name, json.dumps({k: v for k, v in multi.items() if k != "misses"}))
        for miss in multi["misses"]:
            print("   ", miss)
    report = evaluate(model, args.heldout)
    report["train_seconds"] = round(train_seconds, 1) if train_seconds else None
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2))
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "examples",
                    "accuracy",
                    "macro_f1",
                    "out_of_scope_recall",
                    "parse_ms_p50",
                    "parse_ms_p95",
                    "train_seconds",
                )
            }
        )
    )
    worst = sorted(report["per_intent"].items(), key=lambda kv: kv[1]["f1"])[:6]
    print("lowest F1:", ", ".join(f"{k} {v['f1']}" for k, v in worst))
    print(
        "top confusions:",
        ", ".join(
            f"{c['gold']}->{c['predicted']} x{c['count']}" for c in report["confusions"][:10]
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
