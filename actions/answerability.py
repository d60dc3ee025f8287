"""Answer only what was asked: a question about a known topic can hinge on something its
answer does not say ("are the results PERMANENT?", "is it FDA approved?", "I'm 16, can I?").

Before an article answer is given, :func:`not_covered` looks in the question for the words of
data/content/answerability.yml and for an age outside the article's range. When the question
hinges on something the answer does not cover, the assistant says honestly that it doesn't
have that information instead of answering a different question. How much this costs in good
questions refused is measured by scripts/measure_answerability.py (docs/nlu.md).
"""

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from clinic_common import reassurance

# "I'm 16", "16 years old", "16yo", "aged 16", "my 15-year-old", "my daughter is 15",
# "in my 70s", "over 65" (the decade and "over" patterns are the last two: see ages_named)
AGE_PATTERNS = [
    # "years" needs "old" ("it's been 10 years", "10 years ago" are durations)
    re.compile(r"\b(\d{1,2})\s*(?:-\s*)?(?:(?:years?|yrs?)\s*-?\s*old|y/?o)\b", re.IGNORECASE),
    re.compile(
        r"\b(?:i'?m|i am|im|she'?s|he'?s|she is|he is|aged?|at)\s+(\d{2})\b(?!\s*(?:am|pm|:|"
        r"%|minutes|mins|hours|weeks|days|months|times|sessions|treatments))",
        re.IGNORECASE,
    ),
    # "my daughter is 15", "my son who's 16", "she turns 17": a person said before it
    re.compile(
        r"\b(?:my|her|his|our) (?:\w+ )?(?:daughter|son|child|kid|niece|nephew|girl|boy|"
        r"granddaughter|grandson|sister|brother|friend)\b(?: who)?(?:'s| is| turns| turned|"
        r" will be| just turned)\s+(\d{1,2})\b(?!\s*(?:am|pm|:|%|minutes|mins|hours|weeks|days|"
        r"months|times|sessions|treatments|dollars|usd))",
        re.IGNORECASE,
    ),
    re.compile(r"\bin (?:my|her|his|their) (\d)0'?s\b", re.IGNORECASE),
    re.compile(r"\b(?:over|above|older than) (\d{2})\b", re.IGNORECASE),
]
MINOR_WORDS = re.compile(
    r"(?<!was a )(?<!as a )(?<!when i was )\b(?:teen|teens|teenager|"
    r"teenagers|teenage|minor|minors|underage|under 18|high school)\b",
    re.IGNORECASE,
)
DECADE_BONUS = 5  # "in my 70s" is read as 75


@dataclass(frozen=True)
class NotCovered:
    """Why an answer does not fit the question: a hinge's label, or an age."""

    label: str
    age: Optional[int] = None
    reply: Optional[str] = None  # the hinge's own words, when staff wrote some


def ages_named(text: str) -> List[int]:
    """Ages the question names (best effort; a time like "at 3pm" is not an age)."""
    ages = []
    for index, pattern in enumerate(AGE_PATTERNS):
        for match in pattern.finditer(text or ""):
            value = int(match.group(1))
            if index == 3:
                value = value * 10 + DECADE_BONUS
            if index == 4:
                value += 1
            if 1 <= value <= 110:
                ages.append(value)
    return ages


def names_topic(rules: Dict[str, Any], answer_id: str, question: str) -> bool:
    """Whether the question names the topic of ``answer_id`` (``topic_words``): a vague
    question the recogniser mapped to that answer by chance does not. Answers without
    topic words, button clicks ("/ask_safety") and empty questions always pass."""
    words = [str(w) for w in (rules.get("topic_words") or {}).get(answer_id) or []]
    if not words or not question or question.startswith("/"):
        return True
    return reassurance.find_first(question, words) is not None


def not_covered(rules: Dict[str, Any], answer_id: str, question: str) -> Optional[NotCovered]:
    """The first thing the question hinges on that the answer ``answer_id`` does not cover."""
    if not question:
        return None
    for hinge in rules.get("hinges") or []:
        if answer_id in (hinge.get("covered_by") or []):
            continue
        words = [str(w) for w in hinge.get("words") or []]
        if words and reassurance.find_first(question, words):
            unless = [str(w) for w in hinge.get("except_with") or []]
            if unless and reassurance.find_first(question, unless):
                continue
            return NotCovered(
                label=str(hinge.get("label") or hinge.get("id")),
                reply=" ".join(str(hinge["reply"]).split()) if hinge.get("reply") else None,
            )
    ages = rules.get("ages") or {}
    if not ages:
        return None
    low, high = int(ages.get("min", 0) or 0), int(ages.get("max", 200) or 200)
    outside = [age for age in ages_named(question) if age < low or age > high]
    if outside:
        return NotCovered(label="age", age=outside[0])
    if MINOR_WORDS.search(question):
        return NotCovered(label="age", age=low - 5)
    return None
