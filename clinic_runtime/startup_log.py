"""Make ``install()``'s log lines visible when the assistant starts (``python -m clinic_runtime``).

``install()`` runs before Rasa's CLI configures logging, so its INFO line would be dropped
(Python prints only WARNING and above when no handler is configured). Also, importing
``numpy.distutils`` during the install sets the root logger to WARNING. So while ``install()``
runs, the ``clinic_runtime`` logger gets its own stderr handler, in the format of Rasa's log
lines, at the level Rasa's CLI will use (``--quiet``, ``-v``, ``-vv`` / ``--debug``, else
``LOG_LEVEL``, else INFO); afterwards its records go to Rasa's handlers again.
"""

import argparse
import contextlib
import logging
import os
from typing import Iterator, List

# The format and date format of Rasa's log lines (rasa.utils.io.configure_colored_logging).
RASA_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"
RASA_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def rasa_cli_log_level(argv: List[str]) -> int:
    """The log level Rasa's CLI will set for these arguments (its logging options)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-v", "--verbose", action="store_const", dest="level", const=logging.INFO)
    parser.add_argument("-vv", "--debug", action="store_const", dest="level", const=logging.DEBUG)
    parser.add_argument("--quiet", action="store_const", dest="level", const=logging.WARNING)
    level = parser.parse_known_args(argv)[0].level
    if level is None:
        level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    return level if isinstance(level, int) else logging.INFO


@contextlib.contextmanager
def visible(argv: List[str]) -> Iterator[None]:
    """While inside, ``clinic_runtime``'s log lines go to stderr at Rasa's CLI level."""
    logger = logging.getLogger("clinic_runtime")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(RASA_FORMAT, RASA_DATE_FORMAT))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(rasa_cli_log_level(argv))
    logger.propagate = False  # not also to a handler configured meanwhile
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
