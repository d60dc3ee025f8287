"""`python -m clinic_runtime <rasa arguments>`: Rasa's own command line, after ``install()``."""

import sys

from clinic_runtime import install, startup_log


def main() -> None:
    """Apply our runtime changes, then hand over to Rasa's CLI unchanged."""
    with startup_log.visible(sys.argv[1:]):  # Rasa configures logging only later
        install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
