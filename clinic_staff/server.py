"""Start the staff page (``make staff``), or print a password hash for the password file.

python -m clinic_staff [--host 127.0.0.1] [--port 5006]
python -m clinic_staff hash-password        # asks twice, prints the line for var/staff-password
"""

import argparse
import getpass
import logging
import sys

from clinic_staff.passwords import PasswordError, hash_password

logger = logging.getLogger(__name__)


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(
        prog="python -m clinic_staff", description="The clinic's staff page."
    )
    parser.add_argument("command", nargs="?", choices=("serve", "hash-password"), default="serve")
    parser.add_argument(
        "--host", help="address to listen on (default CLINIC_STAFF_HOST or 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, help="port (default CLINIC_STAFF_PORT or 5006)")
    args = parser.parse_args()
    if args.command == "hash-password":
        sys.exit(_print_hash())
    sys.exit(_serve(args.host, args.port))


def _print_hash() -> int:
    password = getpass.getpass("New staff password: ")
    if getpass.getpass("The same again: ") != password:
        print("The two passwords differ; nothing written.", file=sys.stderr)
        return 1
    try:
        line = hash_password(password).line()
    except PasswordError as error:
        print(f"Not used: {error}.", file=sys.stderr)
        return 1
    print(line)
    print(
        "Put this line into var/staff-password (or CLINIC_STAFF_PASSWORD_FILE), "
        "then: chmod 600 var/staff-password",
        file=sys.stderr,
    )
    return 0


def _serve(host: str, port: int) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from dataclasses import replace

    from clinic_requests.config import ConfigError
    from clinic_staff.app import build_app
    from clinic_staff.settings import StaffSettingsError, load_staff_settings
    from clinic_staff.stores import configured_stores

    try:
        settings = load_staff_settings()
        stores = configured_stores()
    except (StaffSettingsError, ConfigError) as error:
        print(f"[staff] not started: {error}", file=sys.stderr)
        return 1
    settings = replace(settings, host=host or settings.host, port=port or settings.port)
    if settings.warning:
        logger.warning(settings.warning)
    app = build_app(settings, stores)
    print(
        f"[staff] staff page: http://{settings.host}:{settings.port}/  (password from "
        f"{settings.password_source}; requests in {stores.outbox.location})",
        flush=True,
    )
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False, workers=1)
    return 0
