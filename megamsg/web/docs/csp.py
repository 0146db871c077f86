"""A Content-Security-Policy for the docs pages: the browser may load from and talk to this server only."""

from flask import Response

from megamsg.web.security_headers import policy

# data: images: Swagger UI's CSS draws its icons as data: URLs. No inline script anywhere.
POLICY = policy("'self'")


def same_origin_only(response: Response) -> Response:
    """Add the policy to a docs page's response (an after_request hook)."""
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response
