"""How long a staff edit of an answer takes to be live (ours only): answers.yml edited in the
running system's content copy, the question asked until the new text is served."""

import asyncio
import time
from pathlib import Path
from typing import Any, Dict, List

from clinic_bench import load as bench_load
from clinic_bench.progress import say
from clinic_bench.systems import System
from clinic_content.answers import parse_answers
from clinic_content.fields import load_file
from clinic_content.paths import ANSWERS_FILE


def content_edit_target(content_dir: Path, intent: str) -> Dict[str, Any]:
    """The answer for ``intent`` in answers.yml: its id, the line to edit, its first words."""
    path = content_dir / ANSWERS_FILE
    answers = load_file(
        path, lambda data, where, errors: parse_answers(data, where, None, errors), ANSWERS_FILE
    )[0]
    answer = next(a for a in answers.values() if intent in a.intents)
    lines = path.read_text().splitlines(keepends=True)
    text_line = next(
        i for i in range(answer.line, len(lines)) if lines[i].strip().startswith("text:")
    )
    if lines[text_line].split("text:", 1)[1].strip() not in (">-", ">", "|", "|-"):
        raise RuntimeError(
            f"answers.yml: the text of '{answer.id}' is not a block scalar;"
            " the bench does not know where to insert its marker"
        )
    return {
        "id": answer.id,
        "line": text_line + 1,
        "first_words": " ".join(answer.text.split()[:6]),
    }


def measure_edit_to_live(system: System, trials: int) -> None:
    """Edit an answer in the content copy; time until the new text is served (ours only)."""
    question = bench_load.MESSAGES["faq_what"][1]
    target = content_edit_target(system.content_dir, "ask_what_is")
    answers = system.content_dir / "answers.yml"
    original = answers.read_text()

    async def check() -> List[float]:
        before = " ".join(
            bench_load.reply_texts(await _post_once(system.url, "edit-check", question))
        )
        if target["first_words"] not in " ".join(before.split()):
            raise RuntimeError(
                f"{question!r} is not answered by '{target['id']}' before the"
                f" edit (got {before[:120]!r})"
            )
        seconds = []
        for trial in range(trials):
            marker = f"BENCHEDIT{trial}X{int(time.time())}"
            lines = original.splitlines(keepends=True)
            indent = len(lines[target["line"]]) - len(lines[target["line"]].lstrip())
            lines[target["line"]] = (
                lines[target["line"]][:indent] + marker + " " + lines[target["line"]][indent:]
            )
            started = time.monotonic()
            answers.write_text("".join(lines))
            seconds.append(
                await bench_load.wait_for_reply(
                    system.url,
                    question,
                    lambda reply, m=marker: m in reply,
                    30,
                    f"edit-{trial}",
                    started=started,
                )
            )
            answers.write_text(original)
            await bench_load.wait_for_reply(
                system.url, question, lambda reply, m=marker: m not in reply, 30, f"unedit-{trial}"
            )
        return seconds

    try:
        seconds = asyncio.run(check())
    finally:
        answers.write_text(original)
    system.result["edit_to_live"] = {
        "method": "measured: answers.yml edited in the content copy, the question asked every"
        " 50 ms with a fresh sender until the new text is served",
        "trials": [round(s, 3) for s in seconds],
        "median_s": round(sorted(seconds)[len(seconds) // 2], 3),
        "max_s": round(max(seconds), 3),
    }
    say(
        f"ours: answer edit live after {system.result['edit_to_live']['median_s']:.2f} s"
        f" (median of {trials})"
    )


async def _post_once(url: str, sender: str, text: str) -> Any:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return (await bench_load.post_message(session, url, sender, text))[1]
