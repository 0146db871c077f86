"""Placeholder replaced by the session runtime."""


def main() -> None:
    """Run the supervisor."""
    raise SystemExit("not implemented yet")
