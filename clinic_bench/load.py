"""HTTP load for `make bench`: a closed loop of simulated visitors over asyncio + aiohttp.

Each simulated visitor has its own sender id and sends a short scripted conversation, one
message at a time (it waits for the answer before the next message, as a person in the chat
widget does). ``concurrency`` visitors are active at once; a run stops after a fixed number of
messages. Only 127.0.0.1 is ever contacted.
"""

import asyncio
import itertools
import math
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import aiohttp

# The fixed message mix: (kind, text). Every visitor script below is made of these.
MESSAGES = {
    "greet": ("conversation", "hi there"),
    "faq_what": ("faq", "what is a microcurrent facial?"),
    "faq_hurt": ("faq", "does it hurt?"),
    "faq_results": ("faq", "how soon will I see results?"),
    "faq_surgery": ("faq", "is it better than a facelift?"),
    "faq_celebs": ("faq", "which celebrities have had microcurrent?"),
    "safety_pacemaker": ("safety_disclosure", "I have a pacemaker, is the facial safe for me?"),
    "safety_pregnant": ("safety_disclosure", "im pregnant can i still get the 4d facial"),
    "unknown_price": ("unknown_fact", "how much does a session cost?"),
    "booking_start": ("booking_start", "I'd like to book an appointment"),
}

# One simulated visitor = one script, with a fresh sender id. Cycled in this order.
VISITOR_SCRIPTS: List[List[str]] = [
    ["greet", "faq_what", "faq_hurt"],
    ["unknown_price"],
    ["safety_pacemaker"],
    ["faq_results", "booking_start"],
    ["faq_surgery", "faq_celebs"],
    ["safety_pregnant", "unknown_price"],
]

REQUEST_TIMEOUT_SECONDS = 60


def mix_summary() -> Dict[str, Any]:
    """The share of each message kind in one cycle of the visitor scripts."""
    counts: Dict[str, int] = {}
    for script in VISITOR_SCRIPTS:
        for key in script:
            kind = MESSAGES[key][0]
            counts[kind] = counts.get(kind, 0) + 1
    total = sum(counts.values())
    return {
        "messages": {key: {"kind": kind, "text": text} for key, (kind, text) in MESSAGES.items()},
        "visitor_scripts": VISITOR_SCRIPTS,
        "share_by_kind": {kind: round(n / total, 3) for kind, n in sorted(counts.items())},
        "messages_per_cycle": total,
    }


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def reply_texts(body: Any) -> List[str]:
    """The texts of a REST-style answer: a list of {"recipient_id", "text", ...}."""
    if not isinstance(body, list):
        return []
    return [m.get("text") or "" for m in body if isinstance(m, dict)]


async def post_message(
    session: aiohttp.ClientSession, url: str, sender: str, text: str
) -> Tuple[int, Any]:
    """POST one message; returns (HTTP status, decoded JSON or None)."""
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        try:
            body = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            body = None
        return response.status, body


def _visitors(prefix: str, total_messages: int) -> Iterator[Tuple[str, List[str]]]:
    """(sender id, message keys) for visitors until ``total_messages`` messages are scheduled."""
    left = total_messages
    for number, script in enumerate(itertools.cycle(VISITOR_SCRIPTS)):
        if left <= 0:
            return
        script = script[:left]
        left -= len(script)
        yield f"{prefix}-{number:05d}", script


async def run_level(
    url: str,
    concurrency: int,
    total_messages: int,
    sender_prefix: str,
    degraded_texts: Sequence[str] = (),
) -> Dict[str, Any]:
    """Send ``total_messages`` messages with ``concurrency`` visitors active at once."""
    visitors = _visitors(sender_prefix, total_messages)
    latencies: List[float] = []
    by_kind: Dict[str, List[float]] = {}
    errors: List[str] = []
    empty = 0
    degraded = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)

    async def visitor_loop(session: aiohttp.ClientSession) -> None:
        nonlocal empty, degraded
        for sender, script in visitors:  # a shared iterator: each visitor is taken once
            for key in script:
                kind, text = MESSAGES[key]
                started = time.perf_counter()
                try:
                    status, body = await post_message(session, url, sender, text)
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                    continue
                elapsed = time.perf_counter() - started
                if status != 200:
                    errors.append(f"HTTP {status}")
                    continue
                latencies.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                texts = reply_texts(body)
                if not any(texts):
                    empty += 1
                if any(t in degraded_texts for t in texts):
                    degraded += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(visitor_loop(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started

    def ms(value: Optional[float]) -> Optional[float]:
        return None if value is None else round(value * 1000, 1)

    return {
        "concurrency": concurrency,
        "requests": total_messages,
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "empty_replies": empty,
        "degraded_replies": degraded,
        "wall_s": round(wall, 3),
        "throughput_msgs_per_s": round(len(latencies) / wall, 2) if wall > 0 else None,
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "mean_ms": ms(sum(latencies) / len(latencies)) if latencies else None,
        "max_ms": ms(max(latencies)) if latencies else None,
        "p50_ms_by_kind": {kind: ms(percentile(v, 50)) for kind, v in sorted(by_kind.items())},
    }


async def sample_replies(url: str, sender_prefix: str) -> List[Dict[str, Any]]:
    """Every visitor script once, sequentially (also the warm-up): what each message got."""
    samples = []
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for number, script in enumerate(VISITOR_SCRIPTS):
            sender = f"{sender_prefix}-{number}"
            for key in script:
                status, body = await post_message(session, url, sender, MESSAGES[key][1])
                text = " | ".join(t for t in reply_texts(body) if t)
                samples.append({"message": key, "status": status, "reply": text[:160]})
    return samples


async def first_answer(
    url: str, is_alive, started: float, timeout: float, message: str = "hello"
) -> Dict[str, Any]:
    """Poll ``url`` with a real message until it is answered; seconds since ``started``."""
    deadline = started + timeout
    attempt = 0
    client_timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        while time.monotonic() < deadline:
            if not is_alive():
                raise RuntimeError("the server exited during start-up")
            attempt += 1
            try:
                status, body = await post_message(session, url, f"coldstart-{attempt}", message)
                if status == 200 and isinstance(body, list):
                    return {
                        "seconds": round(time.monotonic() - started, 2),
                        "answer_nonempty": any(reply_texts(body)),
                        "polls": attempt,
                    }
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} gave no answer within {timeout} s")


async def wait_for_reply(
    url: str,
    text: str,
    predicate,
    timeout: float,
    sender_prefix: str,
    poll: float = 0.05,
    started: Optional[float] = None,
) -> float:
    """Ask ``text`` (fresh sender each time) until ``predicate(reply)``; seconds since
    ``started`` (a ``time.monotonic()`` value; default: now)."""
    started = time.monotonic() if started is None else started
    attempt = 0
    client_timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        while time.monotonic() - started < timeout:
            attempt += 1
            status, body = await post_message(session, url, f"{sender_prefix}-{attempt}", text)
            if status == 200 and predicate(" ".join(reply_texts(body))):
                return time.monotonic() - started
            await asyncio.sleep(poll)
    raise TimeoutError(f"the expected reply to {text!r} did not appear within {timeout} s")
