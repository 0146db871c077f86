"""Authentication of /api/account/* requests: an account API key (Bearer), its scope, rate limit and audit."""

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from megamsg.errors import ApiError
from megamsg.store import api_keys, audit_log
from megamsg.web.api.auth import UNAUTHORIZED
from megamsg.web.api.rate_limit import check_rate
from megamsg.web.db import get_db


def authenticate_key() -> dict:
    """The live key the request carries, or the same 401 as the instance API for every failure."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    found = api_keys.active_key(get_db(), key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise ApiError(401, UNAUTHORIZED)
    return found


def key_user() -> dict:
    """The user the request's key acts for, as instances.visible_instance wants it."""
    return {"id": g.api_key["user_id"], "is_admin": bool(g.api_key["user_is_admin"])}


def require_key(scope: str, action: str) -> Callable[[Callable], Callable]:
    """Decorator: authenticate (401), count against the key's rate (429), check the scope (403)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
            g.api_key = authenticate_key()
            g.audit = {"action": action, "instance_id": kwargs.get("instance_id"), "owner_id": None}
            check_rate(current_app.config, f"apikey:{g.api_key['id']}", "this API key")
            if scope not in api_keys.key_scopes(g.api_key):
                raise ApiError(403, f"This API key does not have the {scope} scope.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def note_instance(instance: dict) -> None:
    """Record in the audit entry which instance (and whose) the call was about."""
    g.audit["instance_id"] = instance["id"]
    g.audit["owner_id"] = instance["owner_id"]


def audit(response: Response) -> Response:
    """After every authenticated call, whatever its outcome: log it and note the key's last use."""
    key = g.get("api_key")
    if key is not None:
        entry = {
            **g.audit,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "address": request.remote_addr or "unknown",
        }
        audit_log.record_call(get_db(), key, entry)
    return response
