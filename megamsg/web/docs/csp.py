"""A Content-Security-Policy for the docs pages: the browser may load from and talk to this server only."""

from flask import Response

# 'unsafe-inline' styles: Swagger UI and the syntax highlighter it bundles set style attributes.
# data: images: Swagger UI's CSS draws its icons as data: URLs. No inline script anywhere.
POLICY = "; ".join(
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
        "frame-ancestors 'self'",
    )
)


def same_origin_only(response: Response) -> Response:
    """Add the policy to a docs page's response (an after_request hook)."""
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response
