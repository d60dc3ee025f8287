"""`make check`: checks every file staff may edit, and the training data.

Prints each problem as ``file:line: what is wrong`` and exits 1 when there is any error.
Warnings (answers past their review date) are printed but do not fail the check.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from clinic_content.errors import ContentLoadError  # noqa: E402
from clinic_content.paths import CONTENT_DIR  # noqa: E402
from clinic_content.store import domain_intents, load_content  # noqa: E402

# Intents that steer the dialogue instead of getting an answer entry ("yes", "no", "cancel");
# intents that start a form are found in the rules (form_intents below).
CONTROL_INTENTS = {"affirm", "deny", "cancel"}
TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]


def form_intents() -> set:
    """Intents whose rule starts a form ("book" -> booking_form): they need no answer entry."""
    import yaml

    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text()) or {}
    forms = set(domain.get("forms") or {})
    found = set()
    for path in sorted((PROJECT_DIR / "data" / "rules").glob("*.yml")):
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules") or []:
            steps = rule.get("steps") or []
            for step, following in zip(steps, steps[1:], strict=False):
                if "intent" in step and following.get("action") in forms:
                    found.add(step["intent"])
    return found


def check_content(content_dir: Path) -> int:
    """Content files, each read by the loader the assistant uses (``clinic_content``): shape,
    ids, intents, buttons, links, placeholders, the contraindication terms and replies as the NLU
    and the actions read them, review dates. Returns the error count."""
    intents = domain_intents()
    try:
        content = load_content(content_dir, intents)
    except ContentLoadError as error:
        for problem in error.errors:
            print(f"ERROR {problem.describe()}")
        return len(error.errors)
    errors = 0
    # A multi-intent ("ask_what_is+ask_price") is answered by the answers of its parts.
    single = {part for intent in intents for part in intent.split("+")}
    for intent in sorted(
        single - CONTROL_INTENTS - form_intents() - set(content.answer_for_intent)
    ):
        print(
            f"ERROR {content_dir / 'answers.yml'}: no answer replies to the intent '{intent}':"
            f" add it to the 'intents' of an answer"
        )
        errors += 1
    errors += check_question_types(content_dir, content, intents)
    for warning in content.warnings:
        print(f"WARNING {warning}")
    return errors


def check_question_types(content_dir: Path, content, intents: set) -> int:
    """Every question type (an intent with an article, unknown or medical answer) needs its rule
    (data/rules: intent -> action_answer) and its button title (messages.yml topic_titles)."""
    import yaml

    answered_by_rule = set()
    for path in sorted((PROJECT_DIR / "data" / "rules").glob("*.yml")):
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules") or []:
            steps = rule.get("steps") or []
            for step, following in zip(steps, steps[1:], strict=False):
                if "intent" in step and following.get("action") == "action_answer":
                    answered_by_rule.add(step["intent"])
    titles = content.messages.get("topic_titles") or {}
    errors = 0
    for answer in content.answers.values():
        if answer.kind == "conversation":
            continue
        for intent in answer.intents:
            if intent == "inform_condition" or intent not in intents:
                continue
            if intent not in answered_by_rule:
                print(
                    f"ERROR data/rules: no rule sends the question type '{intent}' to"
                    f" action_answer (add one to data/rules/answers.yml)"
                )
                errors += 1
            if intent not in titles:
                print(
                    f"ERROR {content_dir / 'messages.yml'}: the question type '{intent}' has no"
                    f" button title under 'topic_titles'"
                )
                errors += 1
    return errors


def check_email_template(content_dir: Path) -> int:
    """The request e-mail's words (email.yml)."""
    from clinic_content.email import EmailTemplateError, load_email_template

    try:
        load_email_template(content_dir)
    except EmailTemplateError as error:
        for problem in error.problems:
            print(f"ERROR {problem}")
        return len(error.problems)
    return 0


def check_training_data() -> int:
    """Rasa's own `rasa data validate` on the domain and the training data."""
    data = [d for d in TRAINING_DATA if (PROJECT_DIR / d).exists()]
    command = [
        sys.executable,
        "-m",
        "rasa",
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--data",
        *data,
        "--fail-on-warnings",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "UserWarning" in line or "ERROR" in line or "Error" in line or "warn" in line.lower()
        ]
        print("ERROR rasa data validate found problems in the training data:")
        for line in lines[-30:] or (result.stdout + result.stderr).splitlines()[-30:]:
            print("   ", line.strip())
        return 1
    return 0


def main() -> int:
    """Run every check and summarise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content-dir", type=Path, default=CONTENT_DIR)
    parser.add_argument("--skip-rasa", action="store_true", help="content only (fast)")
    args = parser.parse_args()
    print(f"[check] content in {args.content_dir}")
    errors = check_content(args.content_dir) + check_email_template(args.content_dir)
    if not args.skip_rasa:
        print("[check] training data (rasa data validate)")
        errors += check_training_data()
    if errors:
        print(f"[check] {errors} problem(s) found: fix them, then run `make check` again.")
        return 1
    print("[check] all good")
    return 0


if __name__ == "__main__":
    sys.exit(main())
