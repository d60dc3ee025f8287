"""Micro-benchmark: the contraindication detector's time per message.

``clinic_nlu.condition_detector`` runs on every message the Rasa server parses, whatever the
intent, so its cost is part of every answer. It is timed here on the red-team suite's texts
(tests/safety/redteam.yml: ordinary questions, disclosures, negations, typos), after one
warm-up message: each pass detects every text once; the best pass and the median pass are
kept, in ms per message, and the slowest single text of the best pass. This used to be a
wall-clock bound in tests/unit/test_condition_detector.py (5 ms per message), which failed on
a busy machine and told nothing on a fast one; the figure belongs here.

Run by clinic_bench.ours_vs_stock in a subprocess (``python -m clinic_bench.detector_speed``,
from the project folder); prints one JSON object. ``--quick`` makes fewer passes.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
RULES = PROJECT_DIR / "data" / "content" / "contraindications.yml"
REDTEAM = PROJECT_DIR / "tests" / "safety" / "redteam.yml"
os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # clinic_nlu imports Rasa, which loads TensorFlow


def texts() -> List[str]:
    """The red-team suite's messages, in file order."""
    suite = yaml.safe_load(REDTEAM.read_text(encoding="utf-8"))
    return [case["text"] for case in suite["cases"]]


def measure(passes: int) -> Dict[str, Any]:
    """Per-message detection times over ``passes`` passes of the red-team texts."""
    from clinic_nlu.condition_detector import ConditionDetector

    detector = ConditionDetector.from_yaml(RULES)
    messages = texts()
    detector.detect(messages[0])  # warm caches, as a running server has
    per_pass: List[float] = []
    slowest: List[float] = []
    for _ in range(passes):
        each = []
        for text in messages:
            began = time.perf_counter()
            detector.detect(text)
            each.append(time.perf_counter() - began)
        per_pass.append(sum(each) * 1000 / len(messages))
        slowest.append(max(each) * 1000)
    best = per_pass.index(min(per_pass))
    return {
        "messages": len(messages),
        "passes": passes,
        "per_message_ms": round(per_pass[best], 3),
        "median_pass_per_message_ms": round(statistics.median(per_pass), 3),
        "slowest_message_ms": round(slowest[best], 2),
        "source": "tests/safety/redteam.yml texts, clinic_nlu.condition_detector.detect",
    }


def markdown(detector: Optional[Dict[str, Any]]) -> str:
    """The detector's section of docs/benchmarks.md (empty when not measured in this run)."""
    if not detector:
        return ""
    return "\n".join(
        [
            "## Our contraindication detector, per message",
            "",
            f"`clinic_nlu.condition_detector` runs on every message. On the red-team suite's"
            f" {detector['messages']} texts (`clinic_bench/detector_speed.py`, best of"
            f" {detector['passes']} passes): **{detector['per_message_ms']} ms per message**"
            f" (median pass {detector['median_pass_per_message_ms']} ms; slowest single text"
            f" {detector['slowest_message_ms']} ms).",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic_bench.detector_speed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="2 passes instead of 7")
    args = parser.parse_args()
    print(json.dumps(measure(2 if args.quick else 7)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
