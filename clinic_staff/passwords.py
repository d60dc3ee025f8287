"""The staff password: kept only as a salted PBKDF2 hash, compared in constant time.

The password comes from ``CLINIC_STAFF_PASSWORD`` or from a file (``var/staff-password`` or
``CLINIC_STAFF_PASSWORD_FILE``). The file may hold the password itself, or -- better -- the
line printed by ``python -m clinic_staff hash-password``
(``pbkdf2_sha256$<iterations>$<salt>$<hash>``), so that nobody reading the file learns it.
A password given in clear is hashed with a fresh salt at start-up and the clear text is not kept.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 240_000  # ~0.1-0.2 s per check here: cheap for a person, slow for guessing
MIN_LENGTH = 10
SALT_BYTES = 16


class PasswordError(ValueError):
    """The configured password is unusable (too short, malformed hash line)."""


@dataclass(frozen=True)
class PasswordHash:
    """A salted PBKDF2-SHA256 hash of the staff password."""

    iterations: int
    salt: bytes
    digest: bytes

    def matches(self, password: str) -> bool:
        """Whether ``password`` is the staff password (constant-time comparison)."""
        candidate = hashlib.pbkdf2_hmac(
            "sha256", password.encode("utf-8"), self.salt, self.iterations
        )
        return hmac.compare_digest(candidate, self.digest)

    def line(self) -> str:
        """The form kept in a password file."""
        return "$".join((ALGORITHM, str(self.iterations), _b64(self.salt), _b64(self.digest)))


def hash_password(password: str, iterations: int = ITERATIONS) -> PasswordHash:
    """Hash a new password with a fresh random salt.

    Raises:
        PasswordError: Shorter than :data:`MIN_LENGTH` characters.
    """
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the staff password needs at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    return PasswordHash(
        iterations, salt, hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    )


def parse_password(value: str) -> PasswordHash:
    """A configured value: a hash line as written by :meth:`PasswordHash.line`, or a password.

    Raises:
        PasswordError: A malformed hash line, or a password that is too short.
    """
    value = value.strip()
    if value.startswith(ALGORITHM + "$"):
        try:
            _, iterations, salt, digest = value.split("$")
            return PasswordHash(int(iterations), _unb64(salt), _unb64(digest))
        except (ValueError, TypeError):
            raise PasswordError(
                "the password file's hash line is malformed; write it again "
                "with `python -m clinic_staff hash-password`"
            ) from None
    return hash_password(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
