"""How cwparity talks HTTP to Prometheus: one ``requests.Session`` per use with the config's auth
(basic, bearer, SigV4) and TLS (CA bundle, client certificate, server name), and one-line words for
what went wrong. The source, the host checks and the Grafana comparison all get theirs here.

SigV4 (Amazon Managed Service for Prometheus) signs each request with botocore's own signer for
the ``aps`` service; the credentials are botocore's (refreshed by it, an assumed role included).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from cwparity.auth_settings import SigV4
from cwparity.config import PrometheusConfig, redact_url
from cwparity.errors import ConfigError

SIGV4_SERVICE = "aps"
# "[SSL: CODE] what went wrong (_ssl.c:1006)" inside requests' nested exception text
_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z0-9_]+)?\] (.+?)\s*(?:\(_ssl\.c:\d+\)|'\)|\"\)|$)")


def prometheus_session(prometheus: PrometheusConfig, with_auth: bool = True) -> requests.Session:
    """A session for ``prometheus.url``. Without auth it keeps the trust settings (CA, server
    name) but presents no credentials at all: no password, token, signature or client cert."""
    session = PrometheusHTTPSession()
    tls = prometheus.tls
    session.verify = _trust(prometheus)
    if tls.server_name:
        session.mount("https://", ServerNameAdapter(tls.server_name))
    if not with_auth:
        session.auth = Anonymous()
        return session
    if tls.cert_file and tls.key_file:
        session.cert = (
            _readable(tls.cert_file, "tls.cert_file"),
            _readable(tls.key_file, "tls.key_file"),
        )
    token = prometheus.bearer()
    if token:
        session.auth = BearerAuth(token)
    if prometheus.basic_auth is not None:
        session.auth = (prometheus.basic_auth.username, prometheus.basic_auth.resolved_password())
    if prometheus.sigv4 is not None:
        session.auth = SigV4Signer.from_config(prometheus.sigv4)
    return session


class Anonymous(AuthBase):
    """No credentials at all: without an auth object requests would send a URL's
    ``user:password@`` as basic auth, and an "anonymous" probe would not be anonymous."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class BearerAuth(AuthBase):
    """A bearer token as an auth object, not a session header: requests would replace such a
    header with the basic auth of a URL's ``user:password@``, which is only the fallback."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class PrometheusHTTPSession(requests.Session):
    """A session whose configured trust wins over the environment's: requests would otherwise
    let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace ``prometheus.tls.ca_file`` (and turn
    ``verify_tls: false`` back on) for every request that does not pass ``verify`` itself."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return dict(settings)


def mount_adapter(
    session: requests.Session, prometheus: PrometheusConfig, max_retries: Any
) -> None:
    """Mount the adapter for ``prometheus.url`` again, keeping the server name (a client that
    mounts its own retrying adapter for the URL would otherwise drop it)."""
    name = prometheus.tls.server_name
    adapter = ServerNameAdapter(name, max_retries) if name else HTTPAdapter(max_retries=max_retries)
    session.mount(prometheus.url, adapter)


def _trust(prometheus: PrometheusConfig) -> bool | str:
    if not prometheus.verify_tls:
        return False
    if prometheus.tls.ca_file:
        return _readable(prometheus.tls.ca_file, "tls.ca_file")
    return True


def _readable(path: str, key: str) -> str:
    expanded = os.path.expanduser(path)
    if not Path(expanded).is_file():
        raise ConfigError(f"prometheus.{key} = {path!r}: file not found")
    return expanded


class ServerNameAdapter(HTTPAdapter):
    """Verify the certificate against ``server_name`` (and send it as SNI), not the URL's host:
    Prometheus reached by an address its certificate does not name (Prometheus's server_name)."""

    def __init__(self, server_name: str, max_retries: Any = 0) -> None:
        self.server_name = server_name
        super().__init__(max_retries=max_retries)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self.server_name
        kwargs["assert_hostname"] = self.server_name
        super().init_poolmanager(*args, **kwargs)


class SigV4Signer(AuthBase):
    """Signs every request as AWS Signature Version 4 for ``aps`` with botocore's SigV4Auth."""

    def __init__(self, credentials: Any, region: str, service: str = SIGV4_SERVICE) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    @classmethod
    def from_config(
        cls, sigv4: SigV4, client_creator: Callable[..., Any] | None = None
    ) -> SigV4Signer:
        import botocore.session
        from botocore.exceptions import ProfileNotFound

        try:
            session = botocore.session.Session(profile=sigv4.profile)
            region = sigv4.region or session.get_config_variable("region")
            credentials = session.get_credentials()
        except ProfileNotFound:
            raise ConfigError(
                f"prometheus.sigv4.profile = {sigv4.profile!r}: no such AWS profile"
            ) from None
        if not region:
            raise ConfigError(
                "prometheus.sigv4.region: not set, and no AWS region in the environment or profile"
            )
        if credentials is None:
            raise ConfigError(
                "prometheus.sigv4: no AWS credentials found (environment, ~/.aws, instance role)"
            )
        if sigv4.role_arn:
            credentials = assumed_role(
                credentials, sigv4.role_arn, client_creator or session.create_client
            )
        return cls(credentials, region)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # sign exactly what is sent: the query in AWS's canonical encoding (%20, never +)
        request.url = canonical_url(str(request.url))
        headers = {}
        if request.headers.get("Content-Type"):
            headers["Content-Type"] = request.headers["Content-Type"]
        signed = AWSRequest(request.method, request.url, data=request.body or b"", headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(
            signed
        )
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request


def assumed_role(source: Any, role_arn: str, client_creator: Callable[..., Any]) -> Any:
    """Credentials of ``role_arn``, assumed with ``source`` and refreshed by botocore itself."""
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    fetcher = AssumeRoleCredentialFetcher(
        client_creator, source, role_arn, extra_args={"RoleSessionName": "cwparity"}
    )
    return DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")


def canonical_url(url: str) -> str:
    """The URL with its query re-encoded the way SigV4 canonicalizes it (RFC 3986)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote, safe="-_.~")))


def describe_failure(err: Exception) -> str:
    """One line for a request that never got an answer: TLS in words, with the key to check."""
    text = str(err)
    ssl_reason = _SSL_REASON.search(text)
    if ssl_reason or isinstance(err, requests.exceptions.SSLError):
        reason = ssl_reason.group(1).strip() if ssl_reason else first_line(text)
        return f"TLS: {reason}{tls_hint(reason)}"
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return redact_url(first_line(text) or type(err).__name__)[:300]


def tls_hint(reason: str) -> str:
    lowered = reason.lower()
    if "hostname" in lowered or "match" in lowered:
        return " (check prometheus.tls.server_name)"
    if "verify failed" in lowered or "self-signed" in lowered or "issuer" in lowered:
        return " (check prometheus.tls.ca_file)"
    if "certificate required" in lowered or "bad certificate" in lowered or "unknown ca" in lowered:
        return " (check prometheus.tls.cert_file and key_file)"
    return ""


def refused(status: int, body: str, prometheus: PrometheusConfig) -> str:
    """One line for a 401/403: the server's own words and the auth keys in play."""
    message = first_line(_message(body))[:160]
    return f"HTTP {status}{': ' + message if message else ''} (check {auth_keys(prometheus)})"


def auth_keys(prometheus: PrometheusConfig) -> str:
    if prometheus.sigv4 is not None:
        return "prometheus.sigv4 and its AWS credentials"
    if prometheus.basic_auth is not None:
        return "prometheus.basic_auth"
    if prometheus.bearer_token is not None or prometheus.bearer_token_env is not None:
        return "prometheus.bearer_token"
    return "the prometheus auth settings: none are configured"


def _message(body: str) -> str:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data.get("Message") or "")
    return ""


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
