"""A local PostgreSQL cluster of the project's own: create, start and stop it on 127.0.0.1.

Here, in ``clinic_scaled`` and not in ``scripts/``, because two users import it: the scaled
setup (:mod:`clinic_scaled.postgres` runs this cluster as a child process) and the tests
(``tests/pg_fixture.py`` starts a throwaway one); packages are what code imports, never the
scripts folder. Not in ``clinic_requests``: the request store only takes a database URL and
never runs a server. ``scripts/pg_local.py`` is its command line (README, "SQLite or
PostgreSQL")::

    server = start(data_dir, port)   # -> LocalPostgres(pid, port, data_dir, url, log)
    server.url                       # "postgresql://clinic@127.0.0.1:PORT/clinic"
    stop(data_dir)                   # -> True if a server was running and is now stopped
    create_database(port, "name")    # -> URL of a new empty database owned by role clinic
    bin_dir()                        # -> Path of initdb/pg_ctl/postgres, or PostgresMissing
    init_cluster(bin_dir(), data_dir)          # initdb + local-only settings (start() calls it)
    ensure_role_and_database(port, timeout)    # the clinic role and database (start() calls it)
    as_service_user(command)                   # runuser -u postgres -- command, when root

    python scripts/pg_local.py start DIR PORT   # prints "PID URL"
    python scripts/pg_local.py stop DIR

clinic_scaled/postgres.py runs the same cluster as a foreground child instead (the scaled
setup's supervisor and fault tests crash and restart it), with the three functions above.

``data_dir`` is the cluster's data directory (PGDATA). :func:`start` is idempotent: it runs
``initdb`` only when ``data_dir`` holds no cluster yet, reuses a server that is already running
on that directory (same port) and creates the ``clinic`` role and database when missing.

* Login is ``trust``, and only from this machine: unix socket (inside ``data_dir``) and
  127.0.0.1; the server listens on 127.0.0.1 only. No password exists anywhere.
* PostgreSQL refuses to run as root, so when we are root the server programs run as Debian's
  ``postgres`` user (``runuser -u postgres``), which then owns ``data_dir``; its parent
  folders must be reachable by that user (``/tmp/...`` is; ``/root/...`` is not).
* The server runs in the background (``pg_ctl start``); :func:`stop` uses ``pg_ctl stop -m
  fast``, then the PID in ``postmaster.pid``. Its log is ``data_dir/server.log``.
* Programs are looked for in ``$PG_BIN``, then the newest ``/usr/lib/postgresql/*/bin``,
  then ``PATH``; if they are missing, :class:`PostgresMissing` names Debian's ``postgresql``.
"""

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional

DATABASE = "clinic"
ROLE = "clinic"
SERVICE_USER = "postgres"  # who runs the server when we are root
ENV_BIN = "PG_BIN"
LOG_NAME = "server.log"
START_TIMEOUT_SECONDS = 60
CONF_MARKER = "# --- clinic assistant (clinic_scaled/local_postgres.py) ---"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server programs are not installed."""


class PostgresError(RuntimeError):
    """The cluster could not be created, started or stopped (the message says why)."""


@dataclass(frozen=True)
class LocalPostgres:
    """A running local server.

    Attributes:
        pid: The postmaster's process id.
        port: TCP port on 127.0.0.1.
        data_dir: The cluster's data directory.
        url: SQLAlchemy URL of the ``clinic`` database as role ``clinic``.
        log: The server's log file.
    """

    pid: int
    port: int
    data_dir: Path
    url: str
    log: Path


def url(port: int, database: str = DATABASE) -> str:
    """The SQLAlchemy URL of ``database`` on the local server, as role ``clinic``."""
    return f"postgresql://{ROLE}@127.0.0.1:{port}/{database}"


def bin_dir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        PostgresMissing: None found; the message says which Debian package to install.
    """
    candidates: List[Path] = []
    if os.environ.get(ENV_BIN, "").strip():
        candidates.append(Path(os.environ[ENV_BIN].strip()))
    candidates += [
        Path(p).parent
        for p in sorted(
            glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key, reverse=True
        )
    ]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresMissing(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) not found in $PG_BIN, "
        "/usr/lib/postgresql/*/bin or PATH. Install Debian's package: "
        "apt-get install postgresql (make setup-dev does it)"
    )


def available() -> bool:
    """Whether the server programs are installed."""
    try:
        bin_dir()
    except PostgresMissing:
        return False
    return True


def start(
    data_dir: Path,
    port: int,
    *,
    settings: Optional[Mapping[str, str]] = None,
    timeout: float = START_TIMEOUT_SECONDS,
) -> LocalPostgres:
    """Create the cluster if needed, start it if needed, make the ``clinic`` database.

    Args:
        data_dir: The data directory (created; must be empty or hold a cluster).
        port: TCP port on 127.0.0.1.
        settings: Extra server settings for this start (``-c name=value``), e.g.
            ``{"fsync": "off"}`` for a throwaway test cluster.
        timeout: Seconds to wait for the server to accept connections.

    Returns:
        The running server.

    Raises:
        PostgresMissing: The server programs are not installed.
        PostgresError: initdb or start failed, or it already runs on another port.
    """
    data_dir = Path(data_dir).resolve()
    programs = bin_dir()
    init_cluster(programs, data_dir)
    log = data_dir / LOG_NAME
    running = _running_pid(data_dir)
    if running is not None:
        running_port = _pid_file_port(data_dir)
        if running_port != port:
            raise PostgresError(
                f"{data_dir} already runs on port {running_port}, not {port}; "
                f"stop it first (scripts/pg_local.py stop {data_dir})"
            )
    else:
        options = [f"-p {int(port)}"]
        for name, value in (settings or {}).items():
            if not re.fullmatch(r"[a-z_.]+", name) or not re.fullmatch(
                r"[A-Za-z0-9_.]+", str(value)
            ):
                raise PostgresError(f"unsupported setting {name}={value!r}")
            options.append(f"-c {name}={value}")
        result = subprocess.run(
            as_service_user(
                [
                    str(programs / "pg_ctl"),
                    "start",
                    "-D",
                    str(data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "-o",
                    " ".join(options),
                ]
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"pg_ctl start failed for {data_dir} on port {port}:\n"
                f"{result.stdout.strip()}\n{_tail(log)}"
            )
        running = _running_pid(data_dir)
        if running is None:
            raise PostgresError(f"PostgreSQL on {data_dir} did not stay up:\n{_tail(log)}")
    ensure_role_and_database(port, timeout)
    return LocalPostgres(pid=running, port=port, data_dir=data_dir, url=url(port), log=log)


def stop(data_dir: Path, timeout: float = 30) -> bool:
    """Stop the server running on ``data_dir`` (fast shutdown: sessions are ended).

    Returns:
        ``True`` if a server was running and has stopped, ``False`` if none was running.

    Raises:
        PostgresError: It is still running after ``timeout`` seconds.
    """
    data_dir = Path(data_dir).resolve()
    pid = _running_pid(data_dir)
    if pid is None:
        return False
    with contextlib.suppress(PostgresMissing, subprocess.TimeoutExpired):
        subprocess.run(
            as_service_user(
                [
                    str(bin_dir() / "pg_ctl"),
                    "stop",
                    "-D",
                    str(data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    str(int(timeout)),
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout + 5,
        )
    deadline = time.monotonic() + timeout
    signalled = False
    while _alive(pid):
        if not signalled:  # pg_ctl missing or failed: SIGINT is PostgreSQL's fast shutdown
            _signal(pid, signal.SIGINT)
            signalled = True
        if time.monotonic() > deadline:
            raise PostgresError(f"PostgreSQL (PID {pid}) on {data_dir} did not stop")
        time.sleep(0.1)
    return True


def create_database(port: int, name: str, owner: str = ROLE) -> str:
    """Create an empty database (tests use one per test); returns its URL.

    Raises:
        ValueError: ``name`` is not a plain lower-case identifier.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")
    with _admin_connection(port) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} OWNER {owner}")
    return url(port, name)


# --- internals ----------------------------------------------------------------------------


def init_cluster(programs: Path, data_dir: Path) -> None:
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    if any(data_dir.iterdir()):
        raise PostgresError(f"{data_dir} is neither empty nor a PostgreSQL data directory")
    data_dir.chmod(0o700)
    _hand_to_service_user(data_dir)
    result = subprocess.run(
        as_service_user(
            [
                str(programs / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SERVICE_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        hint = ""
        if os.geteuid() == 0:
            hint = (
                f"\n(the '{SERVICE_USER}' user must be able to reach {data_dir}; "
                "choose a folder outside root-only ones such as /root)"
            )
        raise PostgresError(f"initdb failed for {data_dir}:\n{result.stdout.strip()}{hint}")
    # Trust, but only from this machine: the socket and 127.0.0.1 (no IPv6, no remote hosts).
    (data_dir / "pg_hba.conf").write_text(
        "# clinic_scaled/local_postgres.py: local logins only, no passwords\n"
        "local   all   all                 trust\n"
        "host    all   all   127.0.0.1/32  trust\n",
        encoding="utf-8",
    )
    socket_dir = str(data_dir).replace("'", "''")
    with open(data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"\n{CONF_MARKER}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            # N Rasa servers' pools plus the action servers' outbox pools.
            "max_connections = 300\n"
        )
    _hand_to_service_user(data_dir)


def ensure_role_and_database(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _admin_connection(port):
                break
        except Exception as error:  # psycopg2.OperationalError while it starts up
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"cannot connect to PostgreSQL on 127.0.0.1:{port}: {error}"
                ) from error
            time.sleep(0.2)
    with _admin_connection(port) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {ROLE} LOGIN")
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")


@contextmanager
def _admin_connection(port: int) -> Iterator[Any]:
    """An autocommit psycopg2 connection as the ``postgres`` superuser, closed on exit."""
    import psycopg2  # the project's runtime dependency; imported late for a fast CLI

    connection = psycopg2.connect(
        host="127.0.0.1", port=port, user=SERVICE_USER, dbname="postgres", connect_timeout=5
    )
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def as_service_user(command: List[str]) -> List[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresMissing(
            f"we are root and there is no '{SERVICE_USER}' user to run "
            "PostgreSQL as; install Debian's postgresql package"
        ) from None
    return ["runuser", "-u", SERVICE_USER, "--", *command]


def _hand_to_service_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    account = pwd.getpwnam(SERVICE_USER)
    for item in [path, *path.rglob("*")]:
        os.chown(item, account.pw_uid, account.pw_gid)


def _pid_file_lines(data_dir: Path) -> List[str]:
    try:
        return (data_dir / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, PermissionError):
        return []


def _running_pid(data_dir: Path) -> Optional[int]:
    lines = _pid_file_lines(data_dir)
    if not lines or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    return pid if _alive(pid) else None


def _pid_file_port(data_dir: Path) -> Optional[int]:
    lines = _pid_file_lines(data_dir)
    return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our exited child) is not a running server
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _version_key(path: str) -> List[int]:
    return [int(part) for part in re.findall(r"\d+", path)]
