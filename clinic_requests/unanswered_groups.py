"""How `make report` and the staff page group unanswered questions: similar wordings together.

"how much is it" and "how much does it cost?" count as one question. "I don't know" answers
are grouped by the intent the classifier gave them (every price question is ``ask_price``);
other messages by the meaningful words they share. Most frequent first.
"""

import re
from collections import Counter
from typing import Dict, List, Tuple

STOPWORDS = {
    "a",
    "an",
    "the",
    "is",
    "it",
    "its",
    "are",
    "do",
    "does",
    "i",
    "you",
    "your",
    "my",
    "me",
    "to",
    "of",
    "for",
    "and",
    "or",
    "can",
    "could",
    "would",
    "will",
    "be",
    "this",
    "that",
    "there",
    "what",
    "please",
    "hi",
    "hello",
    "how",
    "in",
    "on",
    "at",
    "with",
}
OUTCOMES = {
    "unknown": "said it didn't know",
    "out_of_scope": "said it was out of scope",
    "fallback": "did not understand",
}
SIMILARITY = 0.5


def words(text: str) -> set:
    """The meaningful words of a message, crudely singularised."""
    tokens = re.findall(r"[a-z0-9']+", text.lower())
    return {t.rstrip("s") if len(t) > 3 else t for t in tokens if t not in STOPWORDS}


def similar(a: set, b: set) -> bool:
    """Jaccard overlap of meaningful words."""
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= SIMILARITY


def group(rows: List[Tuple]) -> List[Dict]:
    """Greedy grouping of similar wordings; each group keeps its ids, texts and outcomes."""
    groups: List[Dict] = []
    for row in rows:
        row_id, created, text, outcome, intent = row[0], row[1], row[2], row[3], row[4]
        key = words(text)
        # "I don't know" answers were already grouped by meaning by the intent classifier
        # (every price question is ask_price); other messages are grouped by shared words.
        topic = intent if outcome == "unknown" and intent else None
        for candidate in groups:
            if (topic and candidate["topic"] == topic) or (
                not topic and not candidate["topic"] and similar(key, candidate["words"])
            ):
                candidate["ids"].append(row_id)
                candidate["texts"][text] += 1
                candidate["outcomes"][outcome] += 1
                candidate["last"] = max(candidate["last"], created)
                candidate["words"] |= key
                break
        else:
            groups.append(
                {
                    "topic": topic,
                    "words": set(key),
                    "ids": [row_id],
                    "texts": Counter({text: 1}),
                    "outcomes": Counter({outcome: 1}),
                    "last": created,
                }
            )
    return sorted(groups, key=lambda g: (-len(g["ids"]), g["last"]))
