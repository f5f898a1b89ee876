"""Password hashing with Argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from node.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 1000
_hasher = PasswordHasher()
# Checked when an account does not exist, so that a wrong name costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("guildhall dummy password")


def check_password_rules(password: str) -> None:
    """InvalidInput when a new password is too short or absurdly long."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"passwords need at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"passwords are at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """An Argon2id hash of a password that satisfies the rules."""
    check_password_rules(password)
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; False for accounts without a password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
