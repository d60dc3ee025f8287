"""The scaled setup's PostgreSQL: the project's own cluster, run as a foreground child.

The cluster is made as scripts/pg_local.py makes it (initdb as Debian's ``postgres`` user
when we are root, login from this machine only, 127.0.0.1, socket inside the data directory,
room for 300 connections); unlike pg_local's background server, this one is a child process
of the supervisor, so the fault tests can crash and restart it like any other server.
"""

import signal
from pathlib import Path

from clinic_scaled.processes import ServerProcess, port_open
from scripts import pg_local

DATABASE = pg_local.DATABASE
ROLE = pg_local.ROLE
url = pg_local.url


def server(data_dir: Path, port: int, log: Path) -> ServerProcess:
    """PostgreSQL on 127.0.0.1:``port`` for the cluster in ``data_dir`` (created once)."""
    programs = pg_local.bin_dir()
    pg_local.init_cluster(programs, data_dir)
    command = pg_local.as_service_user(
        [str(programs / "postgres"), "-D", str(data_dir), "-p", str(port)])
    # Fast shutdown is SIGINT: SIGTERM would wait for every client, and Rasa keeps
    # pooled connections open.
    return ServerProcess("postgresql", command, log, ready=lambda: port_open(port),
                         stop_signal=signal.SIGINT)


def ensure_database(port: int) -> None:
    """Create the ``clinic`` role and database if they are not there yet."""
    pg_local.ensure_role_and_database(port, timeout=60)
