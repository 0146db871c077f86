"""Authentication of /api/whatsapp/* requests: Bearer token + X-Instance-Id."""

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.store.instances import check_credentials
from megamsg.web.db import get_db

UNAUTHORIZED = "Unauthorized."


def authenticate_request() -> dict:
    """Return the authenticated instance or raise the one 401 every failure shares."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    instance_id = request.headers.get("X-Instance-Id", "").strip()
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not instance_id:
        # Still do a comparison so timing does not tell which part was missing.
        check_credentials(get_db(), "", token)
        raise ApiError(401, UNAUTHORIZED)
    instance = check_credentials(get_db(), instance_id, token)
    if instance is None:
        raise ApiError(401, UNAUTHORIZED)
    return instance


def require_instance(view: Callable) -> Callable:
    """Decorator: sets g.instance or answers 401."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
        g.instance = authenticate_request()
        return view(*args, **kwargs)

    return wrapped
