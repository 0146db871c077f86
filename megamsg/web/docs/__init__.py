"""Public API documentation served by MegaMsg itself: the guide, the sandbox, the interactive reference.

No login needed and no request to any other host (self-hosters run behind firewalls).
"""
