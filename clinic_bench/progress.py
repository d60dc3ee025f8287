"""The benchmark's progress lines, timed from the start of the run."""

import time

_T0 = time.monotonic()


def say(text: str) -> None:
    """Progress line."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {text}", flush=True)
