"""Work, not time: how many Python function calls some code makes.

Regression tests of the kind "this input must not make the check take minutes" compare the
calls an input causes with the calls an ordinary input causes, instead of timing them: a
wall-clock bound fails on a busy machine and passes on a fast one, a call count is the same
everywhere. Over its budget the counter stops the code at once (``OverBudget``), so a
regression fails in seconds instead of hanging the suite. Only the calling thread is counted.
"""

import sys
from typing import Any, Callable, Optional


class OverBudget(Exception):
    """The code made more calls than its budget allowed."""


def count_calls(code: Callable[[], Any], budget: Optional[int] = None) -> int:
    """Run ``code`` and return how many Python function calls it made (generators included).

    Raises:
        OverBudget: once the count passes ``budget``; the code does not run on.
    """
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1
            if budget is not None and calls > budget:
                raise OverBudget(f"more than {budget} calls")

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        code()
    finally:
        sys.setprofile(previous)
    return calls
