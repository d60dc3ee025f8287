"""The scaled setup's PostgreSQL: the project's own cluster, run as a foreground child.

The cluster is made as :mod:`clinic_scaled.local_postgres` makes it (initdb as Debian's
``postgres`` user when we are root, login from this machine only, 127.0.0.1, socket inside the
data directory, room for 300 connections); unlike that module's background server, this one is a
child process of the supervisor, so the fault tests can crash and restart it like any other.
"""

import hashlib
import logging
import os
import signal
import subprocess
from pathlib import Path

from clinic_scaled import local_postgres
from clinic_scaled.processes import ServerProcess, port_open

logger = logging.getLogger(__name__)

DATABASE = local_postgres.DATABASE
ROLE = local_postgres.ROLE
url = local_postgres.url


def reachable_data_dir(data_dir: Path) -> Path:
    """``data_dir``, or a folder under /var/tmp when the ``postgres`` user cannot reach it.

    As root, PostgreSQL runs as ``postgres``, which cannot enter a private folder such as
    /root; a project checked out there still gets a working cluster, kept (named after the
    project folder) for the next start.
    """
    folder = data_dir.parent
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or _service_user_can_enter(folder):
        return data_dir
    tag = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]
    elsewhere = Path("/var/tmp") / f"clinic-scaled-{tag}"
    elsewhere.mkdir(parents=True, exist_ok=True)
    elsewhere.chmod(0o711)
    logger.warning(
        "the postgres user cannot enter %s; PostgreSQL's data is in %s", folder, elsewhere
    )
    return elsewhere / data_dir.name


def _service_user_can_enter(folder: Path) -> bool:
    check = local_postgres.as_service_user(["test", "-x", str(folder)])
    return (
        subprocess.run(check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    )


def server(data_dir: Path, port: int, log: Path) -> ServerProcess:
    """PostgreSQL on 127.0.0.1:``port`` for the cluster in ``data_dir`` (created once)."""
    data_dir = reachable_data_dir(data_dir)
    programs = local_postgres.bin_dir()
    local_postgres.init_cluster(programs, data_dir)
    command = local_postgres.as_service_user(
        [str(programs / "postgres"), "-D", str(data_dir), "-p", str(port)]
    )
    # Fast shutdown is SIGINT: SIGTERM would wait for every client, and Rasa keeps
    # pooled connections open.
    return ServerProcess(
        "postgresql", command, log, ready=lambda: port_open(port), stop_signal=signal.SIGINT
    )


def ensure_database(port: int) -> None:
    """Create the ``clinic`` role and database if they are not there yet."""
    local_postgres.ensure_role_and_database(port, timeout=60)
