"""A stand-in assistant for developing the widget: the real website channel, a fake bot.

Runs the channel exactly as ``rasa run`` mounts it (``configure_app``, Rasa's CORS,
``/webhooks/website/...``) but answers from a small table instead of a trained model:
a question about microcurrent gets a text with a link and two quick-reply buttons, a
button payload gets a short answer, anything else is echoed back (which also shows how
the widget renders markup-looking bot text). Used only when CLINIC_BROWSER_STUB=1.

    python -m tests.browser.stub_server --port 5005
"""

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from tests.servers import free_port, wait_for

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[2]
ANSWER = (
    "Microcurrent is a gentle facial treatment that uses very low electrical currents "
    "to stimulate the facial muscles. More: https://example.com/microcurrent"
)
BUTTONS = [
    {"title": "How it works", "payload": "/ask_how_it_works"},
    {"title": "Results", "payload": "/ask_results"},
]
PAYLOAD_ANSWERS = {
    "/ask_how_it_works": "Small probes pass a painless current along the muscles of the face.",
    "/ask_results": "Many clients see a lifted, refreshed look after the first session.",
}


class StubAgent:
    """Answers like the clinic assistant would, from a fixed table."""

    async def handle_message(self, message) -> None:  # rasa UserMessage
        channel, sender, text = message.output_channel, message.sender_id, message.text
        if text in PAYLOAD_ANSWERS:
            await channel.send_text_message(sender, PAYLOAD_ANSWERS[text])
        elif "microcurrent" in text.lower():
            await channel.send_text_with_buttons(sender, ANSWER, BUTTONS)
        else:
            await channel.send_text_message(sender, f"You said: {text}")


def build_app():
    """The Sanic app: the website channel from credentials.yml settings, a stub agent."""
    from rasa.core.run import configure_app

    from clinic_channel.website import WebsiteInput

    app = configure_app([WebsiteInput.from_credentials({})], enable_api=False)
    app.ctx.agent = StubAgent()
    return app


def run_stub(port: int) -> Iterator[str]:
    """Start the stub in its own process; yields its base URL, stops it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.stub_server", "--port", str(port)],
        cwd=PROJECT_DIR,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/webhooks/website/health", [process], 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=free_port())
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    logger.info("stub assistant: http://127.0.0.1:%d/webhooks/website/", args.port)
    build_app().run(host="127.0.0.1", port=args.port, access_log=False)


if __name__ == "__main__":
    main()
