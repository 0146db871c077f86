"""Users: creation, lookup, password checks, and what an admin does to them (reset, disable, enable)."""

import secrets
import sqlite3

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from megamsg.clock import now_iso
from megamsg.store import dashboard_sessions
from megamsg.store.db import first_row, immediate

MIN_PASSWORD_LENGTH = 10
# Generated passwords: no look-alikes (0/o, 1/l/i), so they can be read out or typed from a screen.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PASSWORD_GROUPS, _PASSWORD_GROUP_LENGTH = 4, 5  # 20 characters from 31: about 99 bits
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
    try:
        table.insert(row)
    except sqlite3.IntegrityError as exc:  # created meanwhile by another request
        raise AccountError("A user with that email already exists.") from exc
    return {"id": table.last_pk, **row}


def generate_password() -> str:
    """A strong random password in dash-separated groups, e.g. "k7m2p-x9q4r-…"."""
    return "-".join(
        "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_GROUP_LENGTH))
        for _ in range(_PASSWORD_GROUPS)
    )


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


def is_disabled(user: dict) -> bool:
    """Whether an admin has disabled this user."""
    return bool(user.get("disabled_at"))


def list_users(db: sqlite_utils.Database, sessions_seen_since: str) -> list[dict]:
    """Every user, oldest first, with their instance count and live session count."""
    sql = (
        "SELECT users.id, users.email, users.is_admin, users.created_at, users.disabled_at,"
        " users.last_login_at,"
        " (SELECT count(*) FROM instances WHERE owner_id = users.id) AS instance_count,"
        " (SELECT count(*) FROM dashboard_sessions WHERE user_id = users.id AND last_seen_at >= ?)"
        " AS session_count"
        " FROM users ORDER BY users.id"
    )
    return [dict(row) for row in db.query(sql, [sessions_seen_since])]


def _active_admins_besides(db: sqlite_utils.Database, user_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM users WHERE is_admin = 1 AND disabled_at IS NULL AND id != ?", [user_id]
    ).fetchone()[0]


def _existing(db: sqlite_utils.Database, user_id: int) -> dict:
    user = user_by_id(db, user_id)
    if user is None:
        raise AccountError("No such user.")
    return user


def check_can_disable(db: sqlite_utils.Database, user: dict, actor_id: int | None) -> None:
    """Raise AccountError if user may not be disabled by actor (None: the command line)."""
    if user["id"] == actor_id:
        raise AccountError("You cannot disable your own account. Ask another admin to do it.")
    if is_disabled(user):
        raise AccountError(f"{user['email']} is already disabled.")
    if user["is_admin"] and not _active_admins_besides(db, user["id"]):
        raise AccountError(
            f"{user['email']} is the last active admin: make another user an admin before disabling them."
        )


def check_can_demote(db: sqlite_utils.Database, user: dict, actor_id: int | None) -> None:
    """Raise AccountError if user's admin rights may not be removed by actor (None: the command line)."""
    if user["id"] == actor_id:
        raise AccountError("You cannot remove your own admin rights. Ask another admin to do it.")
    if not user["is_admin"]:
        raise AccountError(f"{user['email']} is not an admin.")
    if not is_disabled(user) and not _active_admins_besides(db, user["id"]):
        raise AccountError(f"{user['email']} is the last active admin: make another user an admin first.")


def disable_user(db: sqlite_utils.Database, user_id: int, actor_id: int | None) -> int:
    """Disable a user and end all their sessions at once; return how many sessions ended."""
    with immediate(db):
        # Checked inside the transaction: two admins disabling each other cannot both succeed.
        check_can_disable(db, _existing(db, user_id), actor_id)
        db.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [now_iso(), user_id])
        return dashboard_sessions.end_user_sessions(db, user_id)


def enable_user(db: sqlite_utils.Database, user_id: int) -> None:
    """Let a disabled user log in again (with the password they had)."""
    with immediate(db):
        user = _existing(db, user_id)
        if not is_disabled(user):
            raise AccountError(f"{user['email']} is not disabled.")
        db.execute("UPDATE users SET disabled_at = NULL WHERE id = ?", [user_id])


def reset_password(db: sqlite_utils.Database, user_id: int) -> tuple[str, int]:
    """Give the user a new generated password and end all their sessions; return (password, sessions ended)."""
    password = generate_password()
    new_hash = generate_password_hash(password)
    with immediate(db):
        _existing(db, user_id)
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [new_hash, user_id])
        return password, dashboard_sessions.end_user_sessions(db, user_id)


def set_admin(db: sqlite_utils.Database, user_id: int, is_admin: bool, actor_id: int | None) -> dict:
    """Make the user an admin or remove their admin rights; return the user as it was."""
    with immediate(db):
        user = _existing(db, user_id)
        if is_admin and user["is_admin"]:
            raise AccountError(f"{user['email']} is already an admin.")
        if not is_admin:
            check_can_demote(db, user, actor_id)
        db.execute("UPDATE users SET is_admin = ? WHERE id = ?", [int(is_admin), user_id])
        return user
