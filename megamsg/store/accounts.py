"""Users: creation, lookup and password checks."""

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from megamsg.store.db import now_iso

MIN_PASSWORD_LENGTH = 10
# Compared against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A user could not be created (message is safe to show)."""


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased email."""
    return (email or "").strip().lower()


def create_user(db: sqlite_utils.Database, email: str, password: str, is_admin: bool = False) -> dict:
    """Create a user; raise AccountError for bad input or a duplicate email."""
    validate_new_user(db, email, password)
    email = normalise_email(email)
    table = db["users"]
    table.insert(
        {
            "email": email,
            "password_hash": generate_password_hash(password),
            "is_admin": int(is_admin),
            "created_at": now_iso(),
        }
    )
    db.conn.commit()
    return user_by_email(db, email)


def validate_new_user(db: sqlite_utils.Database, email: str, password: str) -> None:
    """Raise AccountError if a user with these details cannot be created."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or " " in email:
        raise AccountError("Enter a valid email address.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if user_by_email(db, email):
        raise AccountError("A user with that email already exists.")


def user_by_email(db: sqlite_utils.Database, email: str) -> dict | None:
    """The user with that email, or None."""
    rows = list(db["users"].rows_where("email = ?", [normalise_email(email)]))
    return rows[0] if rows else None


def user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """The user with that id, or None."""
    rows = list(db["users"].rows_where("id = ?", [user_id]))
    return rows[0] if rows else None


def authenticate(db: sqlite_utils.Database, email: str, password: str) -> dict | None:
    """The user if the password matches, else None."""
    user = user_by_email(db, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if check_password_hash(user["password_hash"], password or ""):
        return user
    return None


def user_count(db: sqlite_utils.Database) -> int:
    """Number of users."""
    return db.execute("SELECT count(*) FROM users").fetchone()[0]
