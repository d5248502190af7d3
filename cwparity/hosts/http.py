"""HTTP sessions for the host checks: Prometheus (the run's credentials, TLS and SigV4, made in
sources/prometheus_http.py) and Grafana (env vars).

Credentials only ever travel in headers; nothing here logs a URL with credentials or a secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from cwparity.hosts.settings import GrafanaConfig

# Prometheus: the same session (auth, TLS, SigV4) as the parity source's
from cwparity.sources.prometheus_http import Anonymous, BearerAuth, prometheus_session

__all__ = [
    "get_json",
    "grafana_session",
    "post_json",
    "prometheus_session",
    "url_hostport",
    "url_port",
]

TIMEOUT = 10


def grafana_session(grafana: GrafanaConfig, with_auth: bool = True) -> requests.Session:
    session = requests.Session()
    session.verify = grafana.verify_tls
    session.headers["Accept"] = "application/json"
    if with_auth:
        token = grafana.token()
        session.auth = BearerAuth(token) if token else grafana.auth()
    else:
        session.auth = Anonymous()
    return session


def get_json(session: requests.Session, url: str, **kwargs: Any) -> tuple[int, Any]:
    """(status code, JSON body or None): the checks judge the status themselves."""
    answer = session.get(url, timeout=TIMEOUT, **kwargs)
    return answer.status_code, _json(answer)


def post_json(session: requests.Session, url: str, **kwargs: Any) -> tuple[int, Any]:
    answer = session.post(url, timeout=TIMEOUT, **kwargs)
    return answer.status_code, _json(answer)


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return {"text": answer.text[:200]}


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def url_hostport(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{url_port(url)}"
