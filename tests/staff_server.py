"""Starts the staff page (``python -m clinic_staff``) on 127.0.0.1 for tests, and a small client.

The server reads the stores named in its environment (``CLINIC_OUTBOX_PATH``, ...), so a test
points it at its own temporary files, or at a running assistant's.
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

from tests.servers import PROJECT_DIR, free_port, wait_for

PASSWORD = "front-desk-test-password"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_FIELD = re.compile(r'name="login_token" value="([^"]+)"')


@dataclass
class StaffServer:
    """A running staff page."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop it by its PID."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_staff(workdir: Path, env: Mapping[str, str]) -> StaffServer:
    """The staff page on a free port, with ``env`` on top of this process's environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "staff.log"
    full_env = {
        **os.environ,
        "CLINIC_STAFF_PASSWORD": PASSWORD,
        **env,
        "CLINIC_STAFF_HOST": "127.0.0.1",
        "CLINIC_STAFF_PORT": str(port),
    }
    if "CLINIC_DATABASE_URL" not in env:  # the stores named in env, not the developer's
        full_env.pop("CLINIC_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "clinic_staff"],
        cwd=PROJECT_DIR,
        env=full_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    server = StaffServer(port, process, log)
    try:
        wait_for(f"{server.url}/login", [process], 60)
    except Exception as error:
        server.stop()
        raise RuntimeError(f"{error}\n{log.read_text(errors='replace')[-3000:]}") from error
    return server


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    cookies: Dict[str, str]  # name -> the whole Set-Cookie value
    body: str


@dataclass
class StaffClient:
    """A browser-like client: keeps cookies, sends Origin on POSTs, does not follow redirects."""

    base: str
    cookies: Dict[str, str] = field(default_factory=dict)
    origin: Optional[str] = None  # default: the server's own

    def get(self, path: str) -> Reply:
        return self._send("GET", path)

    def post(self, path: str, form: Mapping[str, str], origin: Optional[str] = "") -> Reply:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        origin = self.origin or self.base if origin == "" else origin
        if origin is not None:
            headers["Origin"] = origin
        return self._send("POST", path, urllib.parse.urlencode(form), headers)

    def login(self, name: str = "Maria", password: str = PASSWORD) -> Reply:
        token = _field(LOGIN_FIELD, self.get("/login").body)
        return self.post("/login", {"login_token": token, "name": name, "password": password})

    def csrf(self, path: str = "/requests") -> str:
        return _field(CSRF_FIELD, self.get(path).body)

    def _send(
        self,
        method: str,
        path: str,
        body: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Reply:
        parts = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        set_cookies: Dict[str, str] = {}
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                set_cookies[name] = value
                cookie_value = rest.split(";", 1)[0]
                if cookie_value in ("", '""') or "max-age=0" in value.lower():
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        connection.close()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, set_cookies, text
        )


def split_cookie(value: str) -> Tuple[str, Dict[str, str]]:
    """A Set-Cookie value as (value, {attribute: value})."""
    first, *attributes = [part.strip() for part in value.split(";")]
    found = {}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        found[key.lower()] = val
    return first.partition("=")[2], found


def _field(pattern: "re.Pattern[str]", body: str) -> str:
    """The value of the form field ``pattern`` finds in a page; the test fails without one."""
    found = pattern.search(body)
    assert found is not None, f"no {pattern.pattern!r} in the page"
    return found.group(1)
