"""Headers every answer carries: no framing (clickjacking), no MIME sniffing, no inline script."""

from flask import Flask, Response


def policy(frame_ancestors: str) -> str:
    """A policy under which pages load and talk to this server only, and run no inline script."""
    # Inline style attributes stay allowed: Swagger UI, its highlighter and server-drawn QR codes.
    return "; ".join(
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
            f"frame-ancestors {frame_ancestors}",
        )
    )


DASHBOARD_POLICY = policy("'none'")


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
