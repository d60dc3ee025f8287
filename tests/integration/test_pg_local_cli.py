"""scripts/pg_local.py, the README's command line for a local PostgreSQL: start, use, stop.

The cluster itself is clinic_scaled.local_postgres (tested through every PostgreSQL test);
this checks the thin command line around it: its output, its exit codes, and that the URL it
prints is a database the request store can use.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from clinic_requests import database
from clinic_requests.outbox import Outbox
from tests.pg_fixture import free_port, skip_without_postgres

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "scripts" / "pg_local.py"
PAYLOAD = {
    "service": "4-D Facial",
    "name": "Anna Smith",
    "contact": "anna.smith@example.com",
    "preferred_time": "next Tuesday afternoon",
    "conditions": [],
    "transcript": [{"sender": "user", "text": "I'd like to book"}],
}


def pg_local(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_prints_pid_and_url_of_a_usable_database_and_stop_stops_it() -> None:
    skip_without_postgres()
    # Not under pytest's tmp_path: that is root-only, and the server runs as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="clinic-test-pg-cli-"))
    folder.chmod(0o755)
    data_dir, port = folder / "pg", free_port()
    try:
        started = pg_local("start", str(data_dir), str(port))
        assert started.returncode == 0, started.stderr
        pid, url = started.stdout.split()
        assert int(pid) > 0
        assert url == f"postgresql://clinic@127.0.0.1:{port}/clinic"
        stored = Outbox(url).add("booking", PAYLOAD)
        read_back = Outbox(url).get(stored.id)
        assert read_back is not None and read_back.payload["name"] == "Anna Smith"
    finally:
        database.dispose_all()  # no connection left open to a server about to stop
        stopped = pg_local("stop", str(data_dir))
        again = pg_local("stop", str(data_dir))
        shutil.rmtree(folder, ignore_errors=True)
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "stopped")
    assert (again.returncode, again.stdout.strip()) == (0, "not running")


def test_without_a_command_it_prints_its_usage_and_exits_2() -> None:
    result = pg_local()
    assert result.returncode == 2
    assert "usage: pg_local.py" in result.stderr
