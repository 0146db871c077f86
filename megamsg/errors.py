"""ApiError: a failure answered as {"ok": false, "message": …}; the default message per status."""

MESSAGES = {
    400: "Malformed request.",
    401: "Unauthorized.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    413: "Request body too large.",
    415: "Content-Type must be application/json.",
    422: "Invalid request.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "WhatsApp session did not answer.",
    503: "Service unavailable.",
}


class ApiError(Exception):
    """An error answered as {"ok": false, "message": …} with the given status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
