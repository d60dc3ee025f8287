"""A local PostgreSQL on 127.0.0.1: `start DIR PORT` prints "PID URL"; `stop DIR` stops it.

    python scripts/pg_local.py start var/pg 5433   # then CLINIC_DATABASE_URL=<the URL printed>
    python scripts/pg_local.py stop var/pg

The command line of :mod:`clinic_scaled.local_postgres` (the cluster itself: initdb, local
logins only, 127.0.0.1, background server), which the scaled setup and the tests import.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from clinic_scaled.local_postgres import PostgresError, PostgresMissing, start, stop  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: ``start DIR PORT`` prints ``PID URL``; ``stop DIR``."""
    parser = argparse.ArgumentParser(prog="pg_local.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="create if needed, start, print PID and URL")
    start_parser.add_argument("dir", type=Path, help="data directory")
    start_parser.add_argument("port", type=int)
    stop_parser = commands.add_parser("stop", help="stop the server on DIR")
    stop_parser.add_argument("dir", type=Path, help="data directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            server = start(args.dir, args.port)
            print(f"{server.pid} {server.url}")
        else:
            print("stopped" if stop(args.dir) else "not running")
    except (PostgresMissing, PostgresError) as error:
        print(f"pg_local: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
