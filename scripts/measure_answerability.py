"""How many good questions the answerability check refuses (docs/nlu.md, "Answer only what was
asked"): every example whose intent has an article answer, in the training data and the held-out
sets, checked against data/content/answerability.yml. Prints the counts and every refusal.

    .venv/bin/python scripts/measure_answerability.py [--show]
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from actions.answerability import names_topic, not_covered  # noqa: E402
from clinic_content.store import domain_intents, load_content  # noqa: E402

SETS = {
    "training data": sorted((PROJECT_DIR / "data" / "nlu").glob("*.yml")),
    "held-out (intent sets)": [
        PROJECT_DIR / "tests" / "nlu" / "heldout.yml",
        PROJECT_DIR / "tests" / "nlu" / "heldout_fresh.yml",
    ],
}


def examples(paths):
    """(text, intent) pairs of Rasa NLU files."""
    for path in paths:
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield line[2:], block["intent"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every refused question")
    args = parser.parse_args()
    content = load_content(known_intents=domain_intents())
    for name, paths in SETS.items():
        checked, refused, why = 0, [], Counter[str]()
        for text, intent in examples(paths):
            answer = content.answer_for_intent.get(intent)
            if (
                answer is None
                or answer.kind != "article"
                or "+" in intent
                or intent == "inform_condition"
            ):
                continue
            checked += 1
            missing = not_covered(content.answerability, answer.id, text)
            if missing:
                refused.append((intent, text, missing.label))
                why[missing.label] += 1
            elif not names_topic(content.answerability, answer.id, text):
                label = f"topic words of {answer.id} (asked back: did you mean ...?)"
                refused.append((intent, text, label))
                why[label] += 1
        share = len(refused) / checked if checked else 0.0
        print(
            f"{name}: {checked} questions with an article answer, {len(refused)} refused "
            f"({share:.1%})"
        )
        for label, count in why.most_common():
            print(f"    {count:3d}  {label}")
        if args.show:
            for intent, text, label in refused:
                print(f"      [{intent}] {text}  <- {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
