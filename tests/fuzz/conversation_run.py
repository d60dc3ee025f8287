"""Running one fuzzed conversation against the live assistant, and keeping its record.

``Conversation.say`` posts one visitor message, judges the reply (``conversation_judge``) and
checks what the message expected (``conversation_pools.Move``). ``finish`` ends a conversation
as a visitor who still wants something would: book (walking the form to its confirmation), ask
for a person, then look in the outbox for every request the conversation confirmed.
``FuzzRecord`` counts conversations, turns and failures and writes the artifacts.

Like the judge, nothing here imports the assistant's own code.
"""

import json
import os
import re
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from tests.fuzz.conversation_judge import (
    PROJECT_DIR,
    Confirmation,
    Finding,
    Reply,
    Texts,
    asked_field,
    asks_yes_no,
    buttons_of,
    check_reply,
    confirmations_in,
    message_texts,
    norm,
    offers_person,
    simplified,
    starts_handoff,
)
from tests.fuzz.conversation_pools import (
    MENTIONS,
    NAME_BEARING,
    Move,
    Shown,
    email_for,
    unique_name,
)

ARTIFACTS = PROJECT_DIR / "test-artifacts"
FAILURES_FILE = ARTIFACTS / "conversation-fuzz-failures.md"
# CLINIC_CONVFUZZ_ALL_TRANSCRIPTS=1 also writes the passing conversations here (for reading).
ALL_FILE = ARTIFACTS / "conversation-fuzz-all.md"
WRITE_ALL = os.environ.get("CLINIC_CONVFUZZ_ALL_TRANSCRIPTS") == "1"
SUMMARY_FILE = ARTIFACTS / "conversation-fuzz.json"
RESTART_WAIT_SECONDS = 90  # the assistant may be restarted under us (connection refused)
REQUEST_TIMEOUT_SECONDS = 30
REFUSED = "refused"  # a booking refused after an emergency, with a person offered
# A message that asks for a booking, a person or a change may be answered with a new request
# at once (with the name and contact already given); anything else right after a request was
# sent must not send another one.
ASKS_FOR_REQUEST = re.compile(
    r"book|person|human|someone|staff|talk|/request_human|change|"
    r"instead|actually|make it|move|reschedul|wrong|cancel|update|"
    r"wait|meant|prefer",
    re.IGNORECASE,
)
# Findings that are no failure of the assistant: a restart of an assistant started elsewhere.
NOT_FAILURES = {"assistant_restarted"}


class Client:
    """Posts visitor messages to the website channel; waits out a restart of the assistant.

    ``tolerate_restarts`` (an assistant started elsewhere, which its developer restarts now and
    then): a connection reset is waited out like a refused connection, and an error reply or a
    lost connection is put down to a restart when a probe right after it finds the assistant
    down or failing too (see ``outage``). The servers the tests start themselves never restart,
    so there every error counts.
    """

    def __init__(
        self,
        base_url: str,
        outbox_path: Union[str, Path],
        tolerate_restarts: bool = False,
        error_text: str = "",
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/webhooks/website/webhook"
        self.outbox_path = Path(outbox_path)
        self.tolerate_restarts = tolerate_restarts
        self.error_text = error_text

    def post(
        self, sender: str, text: str, wait: float = RESTART_WAIT_SECONDS
    ) -> Tuple[Optional[Reply], Optional[str]]:
        """The reply, or None and why there was none."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        deadline = time.monotonic() + wait
        waited_out = (
            (ConnectionRefusedError, ConnectionResetError)
            if self.tolerate_restarts
            else (ConnectionRefusedError,)
        )
        while True:
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                    raw = response.read()
                try:
                    return json.loads(raw), None
                except ValueError:
                    return None, f"HTTP 200 with a body that is not JSON: {raw[:300]!r}"
            except urllib.error.HTTPError as error:
                if error.code in (502, 503, 504) and time.monotonic() < deadline:
                    time.sleep(1)
                    continue
                return None, f"HTTP {error.code}: {error.read()[:300]!r}"
            except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, waited_out) and time.monotonic() < deadline:
                    time.sleep(1)
                    continue
                return None, f"no answer: {reason}"

    def outage(self) -> bool:
        """Whether the assistant is down or failing right now (a probe "hi" from a new visitor)."""
        time.sleep(1)
        reply, error = self.post(f"convfuzz-probe-{uuid.uuid4().hex[:12]}", "hi", wait=0)
        if error or not isinstance(reply, list):
            return True
        return bool(self.error_text) and any(
            norm(self.error_text) in norm(t) for t in message_texts(reply)
        )

    def outbox_rows(self, where: str, args: Tuple[Any, ...]) -> List[Tuple[str, str, str]]:
        """``(id, kind, payload)`` rows of the outbox's ``requests`` table (read-only)."""
        if not self.outbox_path.exists():
            return []
        uri = f"file:{self.outbox_path}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as connection:
            return list(
                connection.execute(f"SELECT id, kind, payload FROM requests WHERE {where}", args)
            )


@dataclass
class Turn:
    move: Move
    reply: Optional[Reply]
    findings: List[Finding]
    seconds: float


def show(text: str, limit: int = 160) -> str:
    """A visitor's or the bot's text, on one line, odd characters visible."""
    visible = text if text.isprintable() else repr(text)[1:-1]
    return visible if len(visible) <= limit else f"{visible[:limit]}… ({len(text)} characters)"


class Conversation:
    """One visitor's conversation: what was said, what came back, what went wrong."""

    def __init__(
        self, client: Client, texts: Texts, run_id: str, number: int, label: str = "random"
    ) -> None:
        self.client, self.texts = client, texts
        self.number, self.label, self.detail = number, label, ""
        self.sender = f"convfuzz-{run_id}-{number}"
        self.tag = f"{run_id}{number}"
        self.turns: List[Turn] = []
        self.notes: List[Tuple[int, Finding]] = []  # findings of the end checks, after turn n
        self.confirmed: List[Confirmation] = []
        self.outbox_lines: List[str] = []
        self.shown = Shown(None, [])
        self.health = self.urgent = self.in_handoff = self.booking_active = False
        self.corrections: Dict[str, str] = {}
        self.not_names: Dict[str, str] = {}  # simplified text -> a message that was no name
        self.started = time.monotonic()

    # --- talking ---------------------------------------------------------------------------

    def say(self, move: Move) -> Reply:
        start = time.monotonic()
        reply, error = self.client.post(self.sender, move.text)
        seconds = time.monotonic() - start
        typed = [t.move.text for t in self.turns] + [move.text]
        if error:
            findings = [Finding("http_error", error)]
        else:
            findings = check_reply(move.text, reply, self.texts, typed)
            if isinstance(reply, list):
                findings += self._expectations(move, reply)
        if (
            self.client.tolerate_restarts
            and any(f.kind in ("http_error", "error_text") for f in findings)
            and self.client.outage()
        ):
            findings = [
                Finding(
                    "assistant_restarted",
                    f"{f.kind} while the assistant was down or restarting: {f.detail}",
                )
                if f.kind in ("http_error", "error_text")
                else f
                for f in findings
            ]
        self.turns.append(Turn(move, reply, findings, seconds))
        return reply if isinstance(reply, list) else []

    def _expectations(self, move: Move, reply: Reply) -> List[Finding]:
        texts, findings = self.texts, []
        asked = asked_field(reply, texts, previous=self.shown.field)
        confirmations = confirmations_in(reply, texts)
        said = show(move.text, 60)
        requests = [c for c in confirmations if c.kind in ("booking", "consultation", "handoff")]
        if move.given and asked in move.given:
            findings.append(
                Finding(
                    move.refused_kind or "field_asked_again",
                    f"asked for the {asked} again after {said!r}",
                )
            )
        if (
            move.must == "handoff"
            and not starts_handoff(reply, texts)
            and not (self.in_handoff and asked in ("name", "contact"))
        ):
            findings.append(Finding("handoff_not_started", f"no hand-off after {said!r}"))
        if move.must == "no_handoff" and texts.says(
            "handoff_intro", " ".join(message_texts(reply))
        ):
            findings.append(
                Finding("unwanted_handoff", f"{said!r} to the offer of a person started a hand-off")
            )
        if move.must == "no_new_booking" and asked == "service":
            findings.append(Finding("reschedule_became_booking", f"{said!r} started a new booking"))
        if move.not_a_name and (asked in ("contact", "time", "screening", "confirm") or requests):
            findings.append(
                Finding(
                    "junk_accepted_as_name",
                    f"{said!r} was taken as a name (next: {asked or 'a confirmation'})",
                )
            )
        if move.must == "stop" and (asked is not None or requests):
            findings.append(
                Finding(
                    "stop_ignored",
                    f"{said!r} did not stop the form ("
                    + (f"it asks for the {asked} next)" if asked else "it sent the request)"),
                )
            )
        if (
            requests
            and self.turns
            and not ASKS_FOR_REQUEST.search(move.text)
            and any(
                c.kind in ("booking", "consultation", "handoff")
                for c in confirmations_in(self.turns[-1].reply or [], texts)
            )
        ):
            findings.append(
                Finding(
                    "unasked_request", f"a second request right after the first one, for {said!r}"
                )
            )

        # What the visitor has told so far, and where the forms are. Anything but a clear
        # "none of these" said while the health question is shown may be taken as "one applies"
        # (an emoji, "yes", "not sure"), so a consultation is then no surprise.
        none = norm(self.texts.screening_buttons.get("none", "none of these"))
        if self.shown.field == "screening" and move.text != "/deny" and none not in norm(move.text):
            self.health = True
        self.health = self.health or move.health
        self.urgent = self.urgent or move.urgent
        if move.correction and self.booking_active:
            field, value = move.correction
            self.corrections[field] = value
        for field in list(self.corrections):
            if field in move.given or (
                move.correction is None and MENTIONS[field].search(move.text)
            ):
                self.corrections.pop(field)  # a newer value supersedes the correction
        if asked == "service" and not move.correction and not self.booking_active:
            self.corrections.clear()
        if not move.category.startswith(NAME_BEARING):
            self.not_names.setdefault(simplified(re.sub(r"<[^>]*>", " ", move.text)), move.text)
            self.not_names.setdefault(simplified(move.text), move.text)
        for confirmation in confirmations:
            if confirmation.reference not in {c.reference for c in self.confirmed}:
                self.confirmed.append(confirmation)
            junk = self.not_names.get(simplified(confirmation.name or ""))
            if junk is not None and simplified(confirmation.name or ""):
                findings.append(
                    Finding(
                        "junk_accepted_as_name",
                        f"the request went out under the name "
                        f"{show(confirmation.name or '', 60)!r}, from {show(junk, 60)!r}",
                    )
                )
            if confirmation.kind == "booking":
                for field, value in self.corrections.items():
                    if value.lower() not in confirmation.text.lower():
                        findings.append(
                            Finding(
                                "correction_ignored",
                                f"the visitor changed the {field} to {value}, "
                                f"the confirmation does not say it",
                            )
                        )
            self.corrections.clear()
        joined = norm(" ".join(message_texts(reply)))
        if texts.says("handoff_intro", joined) or asked == "topic":
            self.in_handoff = True
        stopped = texts.says("cancelled", joined)
        if confirmations or stopped or asked == "service":
            self.in_handoff = False
        if confirmations or stopped:
            self.booking_active = False
        elif asked and not self.in_handoff:
            self.booking_active = True
        if reply:
            self.shown = Shown(asked, buttons_of(reply), asks_yes_no(reply, texts))
        return findings

    # --- the end checks ----------------------------------------------------------------------

    def note(self, kind: str, detail: str) -> None:
        self.notes.append((len(self.turns), Finding(kind, detail)))

    def finish(
        self,
        book_opener: str = "I want to book",
        handoff_opener: str = "I want to talk to a person",
    ) -> None:
        """Book, then ask for a person; every confirmed request must be in the outbox once."""
        self.corrections.clear()
        self.fuzz_turns = len(self.turns)
        booking = self.walk("booking", book_opener)
        if booking is None:
            self.note("booking_not_completed", "the booking never reached a confirmation")
        elif booking == REFUSED:
            self.outbox_lines.append(
                "booking refused after an emergency, a person offered: accepted"
            )
        elif not isinstance(booking, str) and booking.kind == "consultation" and not self.health:
            self.note(
                "unexpected_consultation",
                "no health condition was mentioned, yet the booking became a consultation",
            )
        handoff = self.walk("handoff", handoff_opener)
        if handoff is None:
            self.note("handoff_not_completed", "the hand-off never reached a confirmation")
        self.check_outbox()

    def walk(self, goal: str, opener: str) -> Union[Confirmation, str, None]:
        """Answer what is asked until the goal's confirmation (or a refusal) comes."""
        texts = self.texts
        kinds = {
            "booking": ("booking", "consultation", "unknown"),
            "handoff": ("handoff", "unknown"),
        }[goal]
        name = unique_name((self.number + (0 if goal == "booking" else 40_000)) % 80_000)
        email = email_for(f"{self.tag}{goal[0]}", "fuzz")
        reply = self.say(Move(opener, f"end: {goal}"))
        asked_times: Counter = Counter()
        restarts, clicked = 0, set[str]()
        for _ in range(16):
            for confirmation in confirmations_in(reply, texts):
                if confirmation.kind in kinds:
                    return confirmation
            field = asked_field(reply, texts, previous=self.shown.field)
            if goal == "handoff" and field in ("service", "time", "screening", "confirm"):
                field = None  # still in a booking: not what the visitor asked for
            if field is None:
                if goal == "booking" and self.urgent and offers_person(reply, texts):
                    return REFUSED
                button = self._button_towards(goal, reply, clicked)
                if button is not None:
                    clicked.add(button["payload"])
                    reply = self.say(Move(button["payload"], f"end: click {button['title']}"))
                    continue
                if restarts < 2:
                    restarts += 1
                    reply = self.say(Move(opener, f"end: {goal} again"))
                    continue
                return None
            asked_times[field] += 1
            if asked_times[field] > 3:
                return None
            reply = self.say(self._answer(field, reply, name, email))
        return None

    def _answer(self, field: str, reply: Reply, name: str, email: str) -> Move:
        buttons = buttons_of(self.turns[-1].reply or []) if self.turns else []
        if field == "service":
            services = [b for b in buttons if b["title"] in self.texts.services] or buttons
            payload = services[0]["payload"] if services else self.texts.services[0]
            return Move(
                payload,
                "end: service",
                given=frozenset({"service"}),
                refused_kind="button_click_refused",
            )
        if field == "name":
            return Move(name, "end: name", given=frozenset({"name"}), refused_kind="name_refused")
        if field == "contact":
            return Move(
                email, "end: contact", given=frozenset({"contact"}), refused_kind="contact_refused"
            )
        if field == "time":
            return Move(
                "Friday at 3pm", "end: time", given=frozenset({"time"}), refused_kind="time_refused"
            )
        if field == "topic":
            return Move(
                "I have a question about prices",
                "end: topic",
                given=frozenset({"topic"}),
                refused_kind="topic_refused",
            )
        if field == "confirm":
            send = self.texts.confirm_buttons.get("send", "")
            button = next(
                (b for b in buttons if b["title"] == send), buttons[0] if buttons else None
            )
            return Move(
                button["payload"] if button else "yes",
                "end: confirm",
                given=frozenset({"confirm"}),
                refused_kind="button_click_refused",
            )
        if field != "screening":
            return Move(buttons[0]["payload"] if buttons else "yes", f"end: {field}")
        none = self.texts.screening_buttons.get("none", "")
        payload = next((b["payload"] for b in buttons if b["title"] == none), "/deny")
        return Move(
            payload,
            "end: screening",
            given=frozenset({"screening"}),
            refused_kind="button_click_refused",
        )

    @staticmethod
    def _button_towards(goal: str, reply: Reply, clicked: set) -> Optional[Dict[str, str]]:
        """A button that leads to the goal (book / a person / yes), not clicked yet."""
        for button in buttons_of(reply):
            if button["payload"] in clicked:
                continue
            payload, title = button["payload"].lower(), button["title"].lower()
            if goal == "booking" and (payload.startswith("/book") or "book" in title):
                return button
            if goal == "handoff" and (payload.startswith("/request_human") or "person" in title):
                return button
        return next(
            (
                b
                for b in buttons_of(reply)
                if b["payload"] == "/affirm" and b["payload"] not in clicked
            ),
            None,
        )

    def check_outbox(self) -> None:
        for confirmation in self.confirmed:
            rows = self.client.outbox_rows("substr(id, 1, 8) = ?", (confirmation.reference,))
            if not rows:
                self.note(
                    "request_not_stored",
                    f"reference {confirmation.reference} "
                    f"({confirmation.kind}) is not in the outbox",
                )
            elif len(rows) > 1:
                self.note(
                    "request_stored_twice", f"reference {confirmation.reference}: {len(rows)} rows"
                )
            elif (
                confirmation.kind in ("booking", "consultation", "handoff")
                and confirmation.kind != rows[0][1]
            ):
                self.note(
                    "request_kind_mismatch",
                    f"reference {confirmation.reference} confirmed "
                    f"as {confirmation.kind}, stored as {rows[0][1]}",
                )
            else:
                self.outbox_lines.append(f"{confirmation.reference} {rows[0][1]}: stored once")
        references = {c.reference for c in self.confirmed}
        marker = f".{self.tag}"
        for request_id, kind, payload in self.client.outbox_rows(
            "payload LIKE ?", (f"%{marker}%",)
        ):
            try:
                contact = json.loads(payload).get("contact") or ""
            except ValueError:
                contact = ""
            if (
                f"{marker}@" not in contact
                and f"{marker}b@" not in contact
                and f"{marker}h@" not in contact
            ):
                continue
            if request_id[:8] not in references:
                self.note(
                    "unconfirmed_request_stored",
                    f"{kind} {request_id[:8]} for {contact} was stored, never confirmed",
                )

    # --- the record ----------------------------------------------------------------------------

    def findings(self) -> List[Finding]:
        return [f for t in self.turns for f in t.findings] + [f for _, f in self.notes]

    def failure_kinds(self) -> List[str]:
        return sorted({f.kind for f in self.findings()} - NOT_FAILURES)

    def transcript(self) -> str:
        kinds = self.failure_kinds()
        head = (
            f"### {self.sender} ({self.label}{': ' + self.detail if self.detail else ''}, "
            f"{len(self.turns)} turns, "
            f"{time.monotonic() - self.started:.1f} s)"
            + (f" FAILED: {', '.join(kinds)}" if kinds else " passed")
        )
        lines = [head, "```"]
        notes: Dict[int, List[Finding]] = {}
        for at, finding in self.notes:
            notes.setdefault(at, []).append(finding)
        for number, turn in enumerate(self.turns, 1):
            if number - 1 == getattr(self, "fuzz_turns", -1):
                lines.append("---- end of the conversation: book, then ask for a person ----")
            lines.append(f"{number:>3} [{turn.move.category}] visitor: {show(turn.move.text)}")
            if turn.reply is None:
                lines.append("      (no reply)")
            for message in turn.reply or []:
                if not isinstance(message, dict):
                    lines.append(f"      bot: {show(str(message))}")
                    continue
                text = message.get("text")
                lines.append(
                    f"      bot: {show(text, 400) if isinstance(text, str) else repr(text)}"
                )
                buttons = message.get("buttons") or []
                if buttons:
                    lines.append(
                        "           ["
                        + " | ".join(
                            f"{show(str(b.get('title')), 40)} -> {show(str(b.get('payload')), 40)}"
                            for b in buttons
                            if isinstance(b, dict)
                        )
                        + "]"
                    )
            for finding in turn.findings:
                lines.append(f"      !! {finding.kind}: {finding.detail}")
            for finding in notes.get(number, []):
                lines.append(f"  !! {finding.kind}: {finding.detail}")
        for finding in notes.get(0, []):
            lines.append(f"  !! {finding.kind}: {finding.detail}")
        for line in self.outbox_lines:
            lines.append(f"  outbox: {line}")
        lines.append("```")
        return "\n".join(lines)


@dataclass
class FuzzRecord:
    """Counts for the summary, and the failing transcripts (also appended to the artifact)."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    settings: Dict[str, Any] = field(default_factory=dict)
    conversations: int = 0
    turns: int = 0
    failed: List[Conversation] = field(default_factory=list)
    by_kind: Counter = field(default_factory=Counter)  # conversations with each kind
    findings_by_kind: Counter = field(default_factory=Counter)  # every occurrence
    by_label: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    restarts: int = 0  # errors put down to a restart of an assistant started elsewhere
    started: float = field(default_factory=time.monotonic)
    _header_written: bool = False

    def add(self, conversation: Conversation) -> None:
        self.conversations += 1
        self.turns += len(conversation.turns)
        self.by_label[conversation.label] += 1
        self.seconds = time.monotonic() - self.started
        kinds = conversation.failure_kinds()
        self.restarts += sum(f.kind == "assistant_restarted" for f in conversation.findings())
        if WRITE_ALL:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with ALL_FILE.open("a", encoding="utf-8") as handle:
                handle.write(conversation.transcript() + "\n\n")
        if not kinds:
            return
        self.failed.append(conversation)
        self.by_kind.update(kinds)
        self.findings_by_kind.update(f.kind for f in conversation.findings())
        transcript = conversation.transcript()
        print(transcript + "\n")  # pytest shows it with the failing test
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with FAILURES_FILE.open("a", encoding="utf-8") as handle:
            if not self._header_written:
                handle.write(
                    f"\n## Conversation fuzzing run {self.run_id} "
                    f"({time.strftime('%Y-%m-%d %H:%M:%S')}, {json.dumps(self.settings)})\n\n"
                )
                self._header_written = True
            handle.write(transcript + "\n\n")

    def summary(self) -> Dict[str, Any]:
        return {
            "run": self.run_id,
            "settings": self.settings,
            "conversations": self.conversations,
            "by_label": dict(self.by_label),
            "turns": self.turns,
            "seconds": round(self.seconds, 1),
            "failed_conversations": len(self.failed),
            "failures_by_kind": dict(self.by_kind.most_common()),
            "findings_by_kind": dict(self.findings_by_kind.most_common()),
            "errors_during_restarts": self.restarts,
            "failures_file": str(FAILURES_FILE.relative_to(PROJECT_DIR)),
        }

    def report(self, limit: int = 3) -> str:
        """The summary and the first failing transcripts, for the assertion message."""
        kinds = ", ".join(f"{k}: {n}" for k, n in self.by_kind.most_common())
        parts = [
            f"{len(self.failed)} of {self.conversations} conversations failed "
            f"({self.turns} turns). Conversations by kind: {kinds}.",
            f"Every failing transcript: {FAILURES_FILE} (and the captured output below); "
            f"summary: {SUMMARY_FILE}.",
        ]
        parts += [c.transcript() for c in self.failed[:limit]]
        return "\n\n".join(parts)
