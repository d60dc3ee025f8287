"""`python -m clinic_scaled run [--rasa N] [--actions M]`: the scaled setup, until Ctrl-C.

`make run-scaled` calls this (RASA_SERVERS / ACTION_SERVERS pick N and M).
"""

import argparse
import signal
import sys
import time
from pathlib import Path

from clinic_scaled.packages import MissingPackages
from clinic_scaled.stack import PROJECT_DIR, Ports, ScaledStack


def say(text: str) -> None:
    """Progress, in the style of scripts/serve.sh."""
    print(f"\033[1m[run-scaled]\033[0m {text}", flush=True)


def main() -> int:
    """Start the setup, restart servers that crash, stop everything on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m clinic_scaled", description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers (default 2)")
    parser.add_argument("--actions", type=int, default=2, help="action servers (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="front door port (8080)")
    parser.add_argument(
        "--data",
        type=Path,
        default=PROJECT_DIR / "var" / "scaled",
        help="data directory (var/scaled)",
    )
    args = parser.parse_args()
    if args.rasa < 1 or args.actions < 1:
        parser.error("--rasa and --actions must be at least 1")
    ports = Ports.defaults(args.rasa, args.actions)
    ports.front = args.port
    stack = ScaledStack(args.data, ports, say=say)

    def stop_now(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # Ctrl-C, `kill`, a closed terminal: all stop every server in order. Set explicitly,
    # because a shell that starts us in the background hands SIGINT down as "ignored".
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, stop_now)
    try:
        stack.start()
        say("Ctrl-C stops every server")
        while True:
            stack.supervise_once()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except MissingPackages as error:
        say(str(error))
        return 1
    except (RuntimeError, TimeoutError, FileNotFoundError) as error:
        say(f"could not start: {error}")
        return 1
    finally:
        say("stopping every server")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
