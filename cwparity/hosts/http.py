"""HTTP sessions for the host checks: Prometheus (the run's credentials) and Grafana (env vars).

Credentials only ever travel in headers; nothing here logs a URL with credentials or a secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from cwparity.config import PrometheusConfig
from cwparity.hosts.settings import GrafanaConfig

TIMEOUT = 10


def prometheus_session(prometheus: PrometheusConfig, with_auth: bool = True) -> requests.Session:
    session = requests.Session()
    session.verify = prometheus.verify_tls
    if with_auth:
        if prometheus.basic_auth is not None:
            session.auth = (
                prometheus.basic_auth.username,
                prometheus.basic_auth.resolved_password(),
            )
        token = prometheus.bearer()
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
    return session


def grafana_session(grafana: GrafanaConfig, with_auth: bool = True) -> requests.Session:
    session = requests.Session()
    session.verify = grafana.verify_tls
    session.headers["Accept"] = "application/json"
    if with_auth:
        token = grafana.token()
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        else:
            session.auth = grafana.auth()
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
