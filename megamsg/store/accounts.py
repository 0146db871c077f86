"""Users: creation, lookup and password checks."""

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from megamsg.clock import now_iso
from megamsg.store import dashboard_sessions
from megamsg.store.db import first_row, immediate

MIN_PASSWORD_LENGTH = 10
# Compared against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A user could not be created or changed (message is safe to show)."""


class WrongPassword(AccountError):
    """The current password given to confirm a change is not right."""


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased email."""
    return (email or "").strip().lower()


def create_user(db: sqlite_utils.Database, email: str, password: str, is_admin: bool = False) -> dict:
    """Create a user; raise AccountError for bad input or a duplicate email."""
    validate_new_user(db, email, password)
    email = normalise_email(email)
    row: dict = {
        "email": email,
        "password_hash": generate_password_hash(password),
        "is_admin": int(is_admin),
        "created_at": now_iso(),
    }
    table = db.table("users")
    table.insert(row)
    db.conn.commit()
    return {"id": table.last_pk, **row}


def validate_password(password: str) -> None:
    """Raise AccountError if password is too weak to set."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")


def validate_new_user(db: sqlite_utils.Database, email: str, password: str) -> None:
    """Raise AccountError if a user with these details cannot be created."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or " " in email:
        raise AccountError("Enter a valid email address.")
    validate_password(password)
    if user_by_email(db, email):
        raise AccountError("A user with that email already exists.")


def user_by_email(db: sqlite_utils.Database, email: str) -> dict | None:
    """The user with that email, or None."""
    return first_row(db, "SELECT * FROM users WHERE email = ?", [normalise_email(email)])


def user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """The user with that id, or None."""
    return first_row(db, "SELECT * FROM users WHERE id = ?", [user_id])


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


def change_password(
    db: sqlite_utils.Database, user_id: int, current: str, new: str, keep_session: str | None
) -> int:
    """Set a new password if `current` is right; end the user's other sessions; return how many ended."""
    user = user_by_id(db, user_id)
    if user is None or not check_password_hash(user["password_hash"], current or ""):
        raise WrongPassword("Your current password is not right.")
    validate_password(new)
    new_hash = generate_password_hash(new)
    with immediate(db):
        # Only over the hash just checked: a change made meanwhile elsewhere is not overwritten.
        changed = db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
            [new_hash, user_id, user["password_hash"]],
        ).rowcount
        if not changed:
            raise AccountError("Your password was changed meanwhile. Log in again.")
        return dashboard_sessions.end_user_sessions(db, user_id, keep=keep_session)
