"""Whether what a visitor typed is a name, and the name in a longer message.

"Helen Price" at the name step is a name; "how long" is a question though "Pete Long" is a name;
"I'm pregnant" is no name. Pure functions over the text (the form reader, ``actions.form_reading``,
and the request changes, ``actions.request_changes``, use them).
"""

import re
import unicodedata
from typing import Optional

from actions import booking
from actions.visitor_text import has_markup, is_payload

NAME_WORDS = (1, 5)
MAX_NAME_WORD = 30
# The word lists below are kept as written, a block of words rather than a word a line.
# fmt: off
# Words that never start a name: question words, pronouns, articles, verbs of requests.
NOT_NAME_FIRST_WORDS = {
    "what", "whats", "how", "why", "when", "where", "who", "which", "whose", "is", "are", "am",
    "was", "can", "could", "do", "does", "did", "will", "would", "should", "shall", "may",
    "might", "must", "have", "has", "i", "im", "i'm", "me", "my", "you", "your", "we", "our",
    "they", "it", "its", "it's", "this", "that", "these", "those", "the", "a", "an", "there",
    "here", "please", "pls", "tell", "give", "show", "send", "book", "cancel", "stop", "talk",
    "speak", "call", "need", "want", "wanna", "let", "lets", "let's", "get", "make", "change",
    "move", "hello", "hi", "hey", "thanks", "thank", "ok", "okay", "yes", "yeah", "yep", "no",
    "nope", "nah", "sure", "not", "none", "nothing", "skip", "idk", "dunno", "just", "actually",
    "sorry", "also", "and", "or", "but", "if", "so", "then", "because", "for", "to", "of", "in",
    "on", "at", "with", "about", "from", "by", "any", "some", "all", "every", "more", "less",
    "too", "very", "really", "still", "already", "again", "maybe", "probably", "definitely",
    "next", "tomorrow", "today", "tonight", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "morning", "afternoon", "evening", "weekend", "asap",
    "microcurrent", "facial", "facials", "treatment", "session", "appointment", "booking",
    "price", "prices", "cost", "costs", "hours", "address", "location", "help", "human",
    "person", "someone", "somebody", "anyone", "agent", "staff", "bot", "robot", "test",
    "testing", "lol", "haha", "hmm", "um", "uh", "wait", "hold", "later", "never", "done",
    "good", "great", "fine", "cool", "nice", "awesome", "perfect", "same", "whatever",
}
# Words that start a question or a request: never a name, however they are written.
QUESTION_WORDS = {"what", "whats", "how", "why", "when", "where", "who", "which", "whose", "is",
                  "are", "am", "can", "could", "do", "does", "did", "should", "shall", "would",
                  "i", "im", "i'm", "please", "pls", "tell", "give", "show", "send", "book",
                  "cancel", "stop", "help", "yes", "no", "ok", "okay", "hi", "hello", "hey",
                  "thanks", "thank", "the", "a", "an", "my", "your", "this", "that", "it"}
# After "my name is" / "I'm", words that say it is no name ("I'm not sure", "it's fine").
NOT_A_NAME_AFTER_PREFIX = {"not", "sure", "fine", "ok", "okay", "good", "great", "here", "back",
                           "just", "a", "an", "the", "so", "very", "really", "pregnant",
                           "interested", "looking", "trying", "asking", "wondering", "going",
                           "having", "feeling", "still", "in", "on", "at", "with", "from",
                           "allergic", "diabetic", "asthmatic", "epileptic", "done", "ready",
                           "unsure", "new", "curious", "confused", "worried", "scared"}
# Everyday words: an all-lowercase "name" holding one of them is a phrase, not a name
# ("oops wrong number", "one of these applies", "merci beaucoup").
EVERYDAY_WORDS = {"of", "these", "those", "this", "that", "there", "here", "is", "are", "was",
                  "be", "been", "it", "to", "for", "with", "my", "your", "me", "we", "they", "you",
                  "or", "but", "not", "no", "yes", "ok", "okay", "wrong", "number", "mind",
                  "right", "now", "having", "pain", "apply", "applies", "one", "two", "none",
                  "null", "nan", "undefined", "test", "testing", "asdf", "qwerty", "lol", "oops",
                  "sorry", "please", "thanks", "thank", "merci", "beaucoup", "gracias", "danke",
                  "hello", "hi", "bye", "good", "bad", "great", "nice", "cool", "fine", "what",
                  "how", "why", "when", "where", "who", "need", "want", "like", "love", "just",
                  "about",
                  "all", "any", "some", "more", "again", "back", "later", "today", "tomorrow",
                  "facial", "booking", "appointment", "person", "someone", "human", "bot", "in",
                  "on", "at", "by", "up", "out", "off", "do", "did", "does", "have", "has", "had",
                  "get", "got", "go", "going", "come", "see", "know", "think", "can", "could",
                  "will", "would", "should", "may", "might", "must", "shall", "very", "too"}

# Placeholder words programs and testers type: never a name, however written.
PLACEHOLDER_WORDS = {"nan", "null", "none", "undefined", "true", "false", "test", "asdf",
                     "qwerty", "lorem", "ipsum", "xxx", "n/a", "na", "anonymous", "nobody"}
# fmt: on

# Prefixes that introduce a name ("my name is Dana White", "hi, it's Tom").
NAME_PREFIX = re.compile(
    r"^(?:(?:hi|hello|hey)[,!. ]+)?(?:(?:my|the|her|his|their)\s+name(?:'s|\s+is)?|name\s*[:=-]?|"
    r"i\s*'?\s*a?m|"
    r"this\s+is|it\s*'?s|call\s+me|you\s+can\s+call\s+me|they\s+call\s+me|its)\s*[:,-]?\s+",
    re.IGNORECASE,
)
# "ugh. Hannah Schmidt", "ok, it's Bob Lee": a word before the name, with a mark after it.
LEADING_WORD = re.compile(
    r"^(?:ugh|um+|uh+|er+m?|hmm+|ok|okay|fine|sure|yes|yeah|yep|alright)[,!.]+\s*(?=\S)",
    re.IGNORECASE,
)
# A name word: letters (any script), with inner hyphens, apostrophes or a final dot ("Jr.").
NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'\u2019.][^\W\d_]+)*\.?$")
# fmt: off
NAME_PARTICLES = {"de", "del", "della", "der", "den", "van", "von", "da", "di", "du", "la", "le",
                  "bin", "binti", "ibn", "al", "el", "st", "ter", "ten", "and", "&", "y", "e"}
# fmt: on
# "My name is X" anywhere in a longer message ("Friday at 11. My name is Tom Reed and ...").
NAME_IN_SENTENCE = re.compile(
    r"\b(?:my\s+name(?:'s|\s+is)|name(?:'s|\s+is)|name\s*:|name(?=\s+[A-Z])|call\s+me|this\s+is)\s+"
    r"([^\W\d_]+(?:[-'\u2019][^\W\d_]+)*(?:[ ][^\W\d_]+(?:[-'\u2019][^\W\d_]+)*){0,3})",
    re.IGNORECASE,
)
CAPITALISED_AFTER_I_AM = re.compile(
    r"\b(?:[Ii]'m|[Ii]\u2019m|[Ii] am|[Ii]m)\s+([A-Z][^\W\d_'\u2019.-]*(?:[-'][A-Z]?[^\W\d_]+)?"
    r"(?:\s+[A-Z][^\W\d_'\u2019.-]*(?:[-'][A-Z]?[^\W\d_]+)?){0,3})"
)


# Words that, capitalised after another word, are a command rather than a surname ("Stop It").
NOT_SURNAMES = {
    "it",
    "that",
    "this",
    "mind",
    "me",
    "now",
    "please",
    "thanks",
    "all",
    "booking",
    "appointment",
    "request",
    "everything",
    "anything",
    "again",
    "here",
    "there",
}
# Request verbs that can also be someone's first name or surname when written as a name.
SURNAME_LIKE_VERBS = {"stop", "book", "help", "cancel", "send", "show", "give", "tell"}
NAME_INTRO = re.compile(
    r"^(?:(?:my|her|his|their)\s+name(?:'s|\s+is)|i'?m|i\s+am|it'?s|"
    r"this\s+is|name\s*:)\s+",
    re.IGNORECASE,
)


def reads_as_name(text: str) -> bool:
    """ "Stop Smith", "Joy Burns", "her name is Will Book": two to four capitalised words and
    nothing else, so an ordinary word in them ("stop", "burns") is part of a name."""
    words = NAME_INTRO.sub("", (text or "").strip()).strip(" .!").split()
    return (
        2 <= len(words) <= 4
        and all(w[:1].isupper() and w.replace("-", "").replace("'", "").isalpha() for w in words)
        and words[-1].lower() not in NOT_SURNAMES
    )


def read_name(text: str, strict: bool = False) -> Optional[str]:
    """The visitor's name when the message is one, else None.

    A name is one to five words of letters (any alphabet, with inner hyphens or apostrophes),
    optionally after "my name is" / "I'm" / "it's" / "call me"; particles such as "de", "van",
    "al" are allowed inside. Words that never start a name (question words, pronouns, "the",
    "book", "stop", ...) make it not a name, so "how long" is a question but "Pete Long" a name.
    With ``strict`` (outside the name step) the name must come after such a prefix.
    """
    raw = (text or "").strip()
    if not raw or has_markup(raw) or is_payload(raw) or "?" in raw:
        return None
    if unicodedata.normalize("NFKC", raw) != raw:
        return None  # full-width or styled letters: typed for effect, not a name
    if booking.EMAIL.search(raw) or re.search(r"\d", raw):
        return None
    unled = LEADING_WORD.sub("", raw, count=1)
    candidate = NAME_PREFIX.sub("", unled, count=1)
    prefixed = candidate != unled
    if strict and not prefixed:
        return None
    candidate = candidate.strip(" .,!;:").replace("\u2019", "'")
    words = candidate.split()
    if not (NAME_WORDS[0] <= len(words) <= NAME_WORDS[1]):
        return None
    real_words = [w for w in words if w.lower() not in NAME_PARTICLES]
    if not real_words or not all(NAME_WORD.match(w.strip(",")) for w in words):
        return None
    if any(len(w) > MAX_NAME_WORD for w in words):
        return None
    shouting = [w for w in real_words if len(w) > 1 and w.isupper()]
    if shouting and len(shouting) != len(real_words):
        return None  # "ÅÄÖ åäö": capitals and small letters mixed word by word
    first = words[0].lower().strip(".,")
    if (
        first in QUESTION_WORDS
        and not (prefixed and first not in ("i", "im", "i'm"))
        and not (first in SURNAME_LIKE_VERBS and reads_as_name(raw))
    ):
        return None  # ("Stop Smith", "Joy Help": capitalised, the verb is a first name)
    # "Will Baker", "Grace Hope": words that are also everyday words are names when written
    # as names (capitalised); written in lower case they must not be everyday phrases.
    capitalised = all(w[:1].isupper() and not (len(w) > 1 and w.isupper()) for w in real_words)
    if prefixed and first in NOT_A_NAME_AFTER_PREFIX:
        return None  # "I'm pregnant", "it's fine", "I am not sure"
    if not prefixed and not capitalised and first in NOT_NAME_FIRST_WORDS:
        return None
    lowered = [w.lower().strip(".,!") for w in words]
    if any(w in PLACEHOLDER_WORDS for w in lowered):
        return None
    if not capitalised and any(w in EVERYDAY_WORDS for w in lowered):
        return None
    if len(words) == 1 and lowered[0] in NOT_NAME_FIRST_WORDS | EVERYDAY_WORDS and not capitalised:
        return None
    return " ".join(w.strip(",") for w in words)


def name_in_sentence(text: str) -> Optional[str]:
    """A name introduced inside a longer message ("... my name is Tom Reed and my email ...",
    "I'm Tom Reed, tom@example.com": after "I'm" only capitalised words count, so "I'm
    pregnant" or "I'm interested" never become a name)."""
    match = (
        NAME_IN_SENTENCE.search(text or "")
        or CAPITALISED_AFTER_I_AM.search(text or "")
        or _for_a_name(text or "")
    )
    if not match:
        return None
    words = []
    for word in match.group(1).split():
        if word.lower() in (
            "and",
            "my",
            "email",
            "phone",
            "number",
            "at",
            "on",
            "i",
            "is",
            "with",
            "please",
            "thanks",
            "not",
            "but",
            "spelled",
            "spelt",
        ):
            break
        words.append(word)
    return read_name(" ".join(words)) if words else None


NOT_NAMES_AFTER_FOR = re.compile(
    r"^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|next|this|the|a|an|my|me|two|"
    r"three|four|clear|forever|single|microcurrent|facial|4-d|4d)$",
    re.IGNORECASE,
)
FOR_A_NAME = re.compile(
    r"\b(?:for|under the name|under)\s+([A-Z][^\W\d_]+(?:[-'][A-Za-z]+)?"
    r"(?:\s+[A-Z][^\W\d_]+(?:[-'][A-Za-z]+)?){1,3})"
)


def _for_a_name(text: str):
    """ "book the 4-D facial for Pete Long, ...": a capitalised name after "for"."""
    match = FOR_A_NAME.search(text)
    if match and not NOT_NAMES_AFTER_FOR.match(match.group(1).split()[0]):
        return match
    return None
