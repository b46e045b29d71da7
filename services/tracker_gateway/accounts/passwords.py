"""Agents' passwords: argon2 hashes, and a check that costs the same whether or not the agent exists."""
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

password_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that an unknown address costs the same time
# as a wrong password (no account enumeration by timing).
_DUMMY_HASH = password_hasher.hash(secrets.token_urlsafe(16))


def hash_password(password):
    return password_hasher.hash(password)


def verify_password(password_hash, password):
    """Whether `password` matches `password_hash` (None: an unknown agent, checked at the same cost)."""
    try:
        password_hasher.verify(password_hash or _DUMMY_HASH, password)
        return password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return password_hasher.check_needs_rehash(password_hash)
