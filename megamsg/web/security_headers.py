"""Headers every answer carries: no framing (clickjacking), no MIME sniffing, no inline script."""

from flask import Flask, Response

# Pages load their scripts and styles from this server only. Inline style attributes stay allowed
# (server-drawn QR codes and small layout touches); inline script does not.
DASHBOARD_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def add_security_headers(response: Response) -> Response:
    """Set the headers a view did not set itself (the docs pages bring their own policy)."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", DASHBOARD_POLICY)
    return response


def init_app(app: Flask) -> None:
    """Register the hook."""
    app.after_request(add_security_headers)
