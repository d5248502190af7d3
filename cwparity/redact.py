"""Keeping secrets out of what a run writes and shows: credentials inside URLs and values under
secret-named keys.

A URL's ``user:password@`` is a credential like any other (requests, Locust and Prometheus all
send it as basic auth), so every URL that is logged, compared or handed to a child process goes
through here: ``redact_url`` for text a person reads, ``public_url`` where the URL itself is
needed without its credentials (a child's command line, a comparison, a record's key).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: a key whose name holds one of these words carries a secret (``*_env`` keys name a variable)
SECRET_KEYS = ("password", "token", "secret")

# the userinfo runs to the authority's last "@" (a password may hold a raw "@" the user did not
# percent-encode); the authority ends at "/", "?", "#" or whitespace. The scheme is bounded (RFC 3986
# sets none, real ones are short): unbounded, the search is quadratic on a long run of letters
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/?#\s]*@", re.I)


def redact_url(text: str) -> str:
    """``text`` with ``user:password@`` in every URL inside it replaced by ``***@``."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def public_url(url: str) -> str:
    """The URL without its userinfo (``http://u:p@h:1/x`` → ``http://h:1/x``); other text as is."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urllib can split (e.g. an unclosed IPv6 bracket)
        return _URL_CREDENTIALS.sub(r"\g<scheme>", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def has_credentials(url: str) -> bool:
    return public_url(url) != url


def is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_KEYS) and not key.endswith("_env")


def redact(data: Any, key: str = "") -> Any:
    """Plain data with secret-named values masked and credentials in every URL redacted."""
    if isinstance(data, dict):
        return {k: redact(v, str(k)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact(v, key) for v in data]
    if isinstance(data, str):
        return "***" if is_secret_key(key) else redact_url(data)
    return data
