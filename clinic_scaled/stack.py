"""Start, supervise, break and stop the whole scaled setup on this machine.

Layout (all on 127.0.0.1, data under ``workdir``, by default ``var/scaled/``)::

    visitors -> nginx :front_port -> Rasa servers (N) -> nginx :actions_port -> action servers (M)
                                       |  trackers: PostgreSQL   |  outbox, unanswered: PostgreSQL
                                       |  locks, rate limits: Redis

Every server is a child process started in its own session and stopped by its PID.
"""

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from clinic_scaled import packages, postgres
from clinic_scaled.processes import ServerProcess, free_ports, http_ok, port_open

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"
ENDPOINTS = PROJECT_DIR / "endpoints-scaled.yml"
NGINX_TEMPLATE = PROJECT_DIR / "deploy" / "nginx.conf.template"
# A Rasa server killed while it holds a conversation's lock leaves a ticket behind; the next
# message of that conversation waits until the ticket expires (Rasa's default is 60 s, as
# long as nginx waits for an answer). 10 s is still far above one message's processing time.
LOCK_LIFETIME_SECONDS = 10
START_TIMEOUT_SECONDS = 240


@dataclass
class Ports:
    """Where each server listens."""

    front: int
    actions_front: int
    postgres: int
    redis: int
    rasa: List[int] = field(default_factory=list)
    actions: List[int] = field(default_factory=list)

    @classmethod
    def defaults(cls, rasa_servers: int, action_servers: int) -> "Ports":
        """Fixed ports for `make run-scaled` (front door 8080)."""
        return cls(
            front=8080,
            actions_front=5200,
            postgres=55432,
            redis=56379,
            rasa=[5101 + i for i in range(rasa_servers)],
            actions=[5201 + i for i in range(action_servers)],
        )

    @classmethod
    def free(cls, rasa_servers: int, action_servers: int) -> "Ports":
        """Free ports, for tests and the benchmark."""
        ports = free_ports(4 + rasa_servers + action_servers)
        return cls(
            front=ports[0],
            actions_front=ports[1],
            postgres=ports[2],
            redis=ports[3],
            rasa=ports[4 : 4 + rasa_servers],
            actions=ports[4 + rasa_servers :],
        )


class ScaledStack:
    """PostgreSQL, Redis, M action servers, N Rasa servers and nginx, as one unit."""

    def __init__(
        self,
        workdir: Path,
        ports: Ports,
        model: Path = MODEL,
        extra_env: Optional[Dict[str, str]] = None,
        say: Callable[[str], None] = print,
    ) -> None:
        """Describe the setup; :meth:`start` installs what is missing and starts it."""
        self.workdir = Path(workdir).resolve()
        self.ports = ports
        self.model = model
        self.extra_env = extra_env or {}
        self.say = say
        self.logs = self.workdir / "logs"
        self.programs: Dict[str, str] = {}
        self.postgres: Optional[ServerProcess] = None
        self.redis: Optional[ServerProcess] = None
        self.nginx: Optional[ServerProcess] = None
        self.rasa: List[ServerProcess] = []
        self.actions: List[ServerProcess] = []

    # --- addresses ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The front door: what the website's widget talks to."""
        return f"http://127.0.0.1:{self.ports.front}"

    @property
    def database_url(self) -> str:
        """The PostgreSQL database shared by every server."""
        return postgres.url(self.ports.postgres)

    def env(self) -> Dict[str, str]:
        """The environment every Rasa and action server gets."""
        return {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            # Rasa: endpoints-scaled.yml reads these.
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.ports.actions_front}/webhook",
            "CLINIC_PG_HOST": "127.0.0.1",
            "CLINIC_PG_PORT": str(self.ports.postgres),
            "CLINIC_PG_DB": postgres.DATABASE,
            "CLINIC_PG_USER": postgres.ROLE,
            "CLINIC_PG_PASSWORD": "",
            "CLINIC_REDIS_HOST": "127.0.0.1",
            "CLINIC_REDIS_PORT": str(self.ports.redis),
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_SECONDS),
            # The website channel: limits shared by every Rasa server, visitor addresses
            # from nginx's X-Forwarded-For.
            "CLINIC_RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{self.ports.redis}/1",
            "SANIC_PROXIES_COUNT": "1",
            # Action servers: outbox and unanswered questions in PostgreSQL, delivery
            # settings from the scaled endpoints file.
            "CLINIC_DATABASE_URL": self.database_url,
            "CLINIC_ENDPOINTS_PATH": str(ENDPOINTS),
            **self.extra_env,
        }

    # --- start / stop -------------------------------------------------------------------

    def start(self) -> None:
        """Install missing packages, then start every server and wait until all answer."""
        self.programs = packages.ensure_installed(self.say)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.model.exists():
            raise FileNotFoundError(f"{self.model} is missing: run `make model` first")
        self.say(f"data and logs under {self.workdir}")
        self._start_postgres()
        self.redis = self._redis_process()
        self.redis.start().wait_ready(30)
        self.actions = [self._action_process(i) for i in range(len(self.ports.actions))]
        self.rasa = [self._rasa_process(i) for i in range(len(self.ports.rasa))]
        for server in self.actions + self.rasa:
            server.start()
        for server in self.actions + self.rasa:
            server.wait_ready(START_TIMEOUT_SECONDS)
        self.nginx = self._nginx_process()
        self.nginx.start().wait_ready(30)
        self.say(
            f"ready: {len(self.rasa)} Rasa and {len(self.actions)} action servers "
            f"behind nginx. Chat page: {self.url}/webhooks/website/"
        )

    def stop(self) -> None:
        """Stop every server, front door first, database last."""
        for server in [self.nginx, *self.rasa, *self.actions, self.redis, self.postgres]:
            if server is not None:
                server.stop()

    def servers(self) -> List[ServerProcess]:
        """Every server process of the setup."""
        return [
            s
            for s in [self.postgres, self.redis, *self.actions, *self.rasa, self.nginx]
            if s is not None
        ]

    def supervise_once(self) -> List[str]:
        """Restart any server that exited (what systemd's Restart= does on real servers)."""
        restarted = []
        for server in self.servers():
            if server.process is not None and not server.running:
                self.say(
                    f"{server.name} exited ({server.process.returncode}); restarting; "
                    f"log: {server.log}"
                )
                server.start()
                restarted.append(server.name)
        return restarted

    # --- the servers --------------------------------------------------------------------

    def _start_postgres(self) -> None:
        self.postgres = postgres.server(
            self.workdir / "postgresql", self.ports.postgres, self.logs / "postgresql.log"
        )
        self.postgres.start().wait_ready(60)
        postgres.ensure_database(self.ports.postgres)

    def _redis_process(self) -> ServerProcess:
        data_dir = self.workdir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = self.ports.redis
        # Locks and rate-limit counters are short-lived: nothing to persist.
        command = [
            self.programs["redis-server"],
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        return ServerProcess(
            "redis", command, self.logs / "redis.log", ready=lambda: port_open(port)
        )

    def _action_process(self, index: int) -> ServerProcess:
        port = self.ports.actions[index]
        env = {**self.env(), "SANIC_HOST": "127.0.0.1"}
        command = [
            sys.executable,
            "-m",
            "clinic_requests.action_server",
            "--actions",
            "actions",
            "--port",
            str(port),
        ]
        return ServerProcess(
            f"action server {index + 1}",
            command,
            self.logs / f"actions-{index + 1}.log",
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/health"),
            env=env,
            cwd=PROJECT_DIR,
        )

    def _rasa_process(self, index: int) -> ServerProcess:
        port = self.ports.rasa[index]
        command = [
            sys.executable,
            "-m",
            "clinic_runtime",
            "run",
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            str(self.model),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(ENDPOINTS),
        ]
        return ServerProcess(
            f"Rasa server {index + 1}",
            command,
            self.logs / f"rasa-{index + 1}.log",
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/webhooks/website/health"),
            env=self.env(),
            cwd=PROJECT_DIR,
        )

    def _nginx_process(self) -> ServerProcess:
        run_dir = self.workdir / "nginx"
        run_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        config = run_dir / "nginx.conf"
        config.write_text(self.nginx_config(run_dir), encoding="utf-8")
        command = [self.programs["nginx"], "-c", str(config), "-p", str(run_dir)]
        return ServerProcess(
            "nginx",
            command,
            self.logs / "nginx.log",
            ready=lambda: port_open(self.ports.front) and port_open(self.ports.actions_front),
        )

    def nginx_config(self, run_dir: Path) -> str:
        """deploy/nginx.conf.template filled in for this machine."""

        def upstreams(ports: List[int]) -> str:
            # A server that fails is left out for 5 s, then tried again.
            return "\n        ".join(
                f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports
            )

        fields = {
            # nginx's workers drop root for "nobody", who cannot write our folders.
            "user_line": "user root;" if os.geteuid() == 0 else "",
            "run_dir": str(run_dir),
            "log_dir": str(self.logs),
            "listen_host": "127.0.0.1",
            "front_port": str(self.ports.front),
            "actions_port": str(self.ports.actions_front),
            "rasa_upstreams": upstreams(self.ports.rasa),
            "action_upstreams": upstreams(self.ports.actions),
        }
        text = NGINX_TEMPLATE.read_text(encoding="utf-8")
        for name, value in fields.items():
            text = text.replace("{{" + name + "}}", value)
        return text


def remove_data(workdir: Path) -> None:
    """Delete the setup's data directory (conversations, outbox, logs)."""
    shutil.rmtree(workdir, ignore_errors=True)


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll ``check`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
