"""A PostgreSQL cluster of the project's own, under its data directory, on 127.0.0.1.

The server runs in the foreground as our child (so a test can crash and restart it like
any other server). PostgreSQL refuses to run as root, so when we are root the programs
run as Debian's ``postgres`` user, which then owns the data directory.
"""

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import List

from clinic_scaled.processes import ServerProcess, port_open

DATABASE = "clinic"
ROLE = "clinic"
SERVICE_USER = "postgres"


def _as_service_user(command: List[str]) -> List[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVICE_USER, "--", *command]


def _hand_to_service_user(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVICE_USER)
        for item in [path, *path.rglob("*")]:
            os.chown(item, account.pw_uid, account.pw_gid)


def init_cluster(postgres_program: str, data_dir: Path) -> None:
    """Create the cluster once (trust login from this machine only); a no-op after."""
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    _hand_to_service_user(data_dir)
    initdb = str(Path(postgres_program).with_name("initdb"))
    done = subprocess.run(
        _as_service_user([initdb, "-D", str(data_dir), "-U", SERVICE_USER,
                          "--auth-local=trust", "--auth-host=trust", "-E", "UTF8",
                          "--locale=C.UTF-8"]),
        capture_output=True, text=True)
    if done.returncode != 0:
        hint = ""
        if os.geteuid() == 0:
            hint = (f"\n(the '{SERVICE_USER}' user must be able to enter every folder above "
                    f"{data_dir}; a private folder such as /root or a 0700 temp dir is not)")
        raise RuntimeError(f"initdb failed for {data_dir}:\n{done.stderr.strip()}{hint}")


def server(postgres_program: str, data_dir: Path, port: int, log: Path) -> ServerProcess:
    """The PostgreSQL server on 127.0.0.1:``port``, its socket inside ``data_dir``."""
    command = _as_service_user([
        postgres_program, "-D", str(data_dir), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data_dir}",
        # Room for N Rasa servers' pools (Rasa's default pool is 50 + overflow) and the
        # action servers' outbox connections.
        "-c", "max_connections=300",
    ])
    log.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        log.touch()
    return ServerProcess("postgresql", command, log, ready=lambda: port_open(port),
                         stop_signal=signal.SIGINT)


def ensure_database(postgres_program: str, data_dir: Path, port: int) -> None:
    """Create the ``clinic`` role and database if they are not there yet."""
    psql = shutil.which("psql") or str(Path(postgres_program).with_name("psql"))
    base = [psql, "-h", "127.0.0.1", "-p", str(port), "-U", SERVICE_USER, "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-qtAc"]

    def query(sql: str) -> str:
        return subprocess.run(base + [sql], check=True, capture_output=True,
                              text=True).stdout.strip()

    if not query(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'"):
        query(f"CREATE ROLE {ROLE} LOGIN")
    if not query(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"):
        query(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")


def url(port: int) -> str:
    """The SQLAlchemy URL of the clinic database."""
    return f"postgresql://{ROLE}@127.0.0.1:{port}/{DATABASE}"
