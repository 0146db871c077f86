"""Short, safe reasons for failed outbound HTTP calls.

Exception texts from requests/urllib3 quote the URL's path and query, which may carry a
receiver's secret, so they are never shown or stored: only these descriptions are.
"""

import ssl

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

NETWORK_ERRORS = (requests.RequestException, Urllib3Error, OSError)


def describe(error: BaseException, timeout_seconds: float) -> str:
    """A short human reason for a failed request, free of URLs and credentials."""
    if isinstance(error, requests.TooManyRedirects):
        return "it redirects too many times"
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "the server refused the connection"
    if any(isinstance(item, NameResolutionError) for item in chain):
        return "its host name could not be resolved"
    # urllib3 derives NewConnectionError from its timeout class, so a refusal must be ruled out first.
    if any(
        isinstance(item, (requests.Timeout, Urllib3Timeout, TimeoutError))
        and not isinstance(item, NewConnectionError)
        for item in chain
    ):
        return f"the server did not answer within {timeout_seconds:g} s"
    if any(isinstance(item, (requests.exceptions.SSLError, ssl.SSLError)) for item in chain):
        return "the TLS connection failed"
    if any(isinstance(item, ConnectionResetError) for item in chain):
        return "the server reset the connection"
    if isinstance(error, requests.ConnectionError):
        return "the connection to the server failed"
    return "the request failed"
