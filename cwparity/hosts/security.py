"""The guide's "Security and Access Controls" advice, made checkable.

Prometheus: auth and TLS when the profile asks for them (a web config file), the admin API off, not
running as root. Grafana: the default ``admin``/``admin`` rejected, anonymous access off. Every
check here is hardening: in a profile that is not strict (the demo) a failure is a warning.
"""

from __future__ import annotations

from typing import Any

import requests

from cwparity.config import RunConfig
from cwparity.hosts.common import first_line, guarded, result, run, skip, soften, warn
from cwparity.hosts.http import grafana_session, post_json, prometheus_session
from cwparity.hosts.live import Live, unit_service
from cwparity.results import CheckResult
from cwparity.sources.prometheus_http import describe_failure

KIND = "security"
# a harmless admin call: with the admin API on it answers 400 (no match[]), off it answers 500
ADMIN_PROBE = "/api/v1/admin/tsdb/delete_series"


def check_admin_api(config: RunConfig) -> CheckResult:
    cid = "security.prometheus.admin_api"
    session = prometheus_session(config.prometheus)
    status, body = post_json(session, f"{config.prometheus.url}{ADMIN_PROBE}")
    error = str((body or {}).get("error", ""))
    observed = {"http_status": status, "error": error[:80]}
    if status == 500 and "admin APIs disabled" in error:
        return result(
            cid, KIND, "prometheus", True, "admin API disabled (500 admin APIs disabled)", observed
        )
    if status in (401, 403):
        return result(
            cid, KIND, "prometheus", True, f"admin API refused with HTTP {status}", observed
        )
    return result(
        cid,
        KIND,
        "prometheus",
        False,
        f"admin API enabled: {ADMIN_PROBE} answered HTTP {status} (start without --web.enable-admin-api)",
        observed,
    )


def check_prometheus_auth(config: RunConfig) -> CheckResult:
    cid = "security.prometheus.auth"
    url = config.prometheus.url
    anonymous = prometheus_session(config.prometheus, with_auth=False)
    try:
        status = anonymous.get(f"{url}/api/v1/status/buildinfo", timeout=10).status_code
    except requests.exceptions.SSLError as err:
        if not config.prometheus.tls.cert_file:
            raise
        # mTLS: a client without a certificate is turned away in the handshake
        why = describe_failure(err)
        return result(
            cid, KIND, "prometheus", True, f"refused without a client certificate ({why})"
        )
    required = config.hosts.prometheus.require_auth
    observed = {"http_status_without_credentials": status}
    if status in (401, 403):
        # 403: Amazon Managed Service for Prometheus refuses an unsigned request so
        return result(cid, KIND, "prometheus", True, f"{status} without credentials", observed)
    reason = f"Prometheus answers HTTP {status} without credentials"
    if not required:
        return warn(cid, KIND, "prometheus", f"{reason} (hosts.prometheus.require_auth is false)")
    return result(
        cid,
        KIND,
        "prometheus",
        False,
        f"{reason}; the profile requires auth (web config basic_auth_users)",
        observed,
    )


def check_prometheus_tls(config: RunConfig) -> CheckResult:
    cid = "security.prometheus.tls"
    url = config.prometheus.url
    if not url.startswith("https://"):
        reason = f"Prometheus is reached over plain HTTP ({url.split('://')[0]}://)"
        if not config.hosts.prometheus.require_tls:
            return warn(
                cid,
                KIND,
                "prometheus",
                f"{reason} (hosts.prometheus.require_tls is false)",
            )
        return result(cid, KIND, "prometheus", False, f"{reason}; the profile requires TLS")
    session = prometheus_session(config.prometheus)
    status = session.get(f"{url}/-/healthy", timeout=10).status_code
    return result(
        cid,
        KIND,
        "prometheus",
        status == 200,
        f"TLS handshake ok, /-/healthy answered HTTP {status}",
    )


def check_web_config(host: Any, live: Live, config: RunConfig, promtool: str) -> CheckResult:
    expected = config.hosts.prometheus.web_config_file
    cid = "security.prometheus.web_config"
    if not expected:
        return skip(cid, KIND, "prometheus", "no hosts.prometheus.web_config_file configured")
    in_use = live.flag("--web.config.file")
    if in_use != expected:
        return result(
            cid,
            KIND,
            expected,
            False,
            f"Prometheus runs with --web.config.file={in_use}, expected {expected}",
        )
    answer = run(host, promtool, "check", "web-config", expected)
    text = first_line(answer.stdout + answer.stderr)
    return result(cid, KIND, expected, answer.rc == 0, f"promtool check web-config: {text[:160]}")


def check_not_root(host: Any, live: Live, config: RunConfig) -> CheckResult:
    cid = "security.prometheus.not_root"
    spec = config.hosts.prometheus
    if config.hosts.profile == "systemd" and host.file(spec.unit_file).exists:
        unit_user = unit_service(host.file(spec.unit_file).content_string).get("User", "root")
        if unit_user in ("root", "0"):
            return result(
                cid,
                KIND,
                spec.unit_file,
                False,
                f"{spec.unit_file} runs Prometheus as root (User={unit_user or 'unset'})",
            )
    if live.pid is None:
        return skip(cid, KIND, "prometheus", f"no Prometheus process to check: {live.note}")
    if live.user in ("root", "0"):
        return result(cid, KIND, "prometheus", False, f"Prometheus (pid {live.pid}) runs as root")
    return result(
        cid,
        KIND,
        "prometheus",
        True,
        f"Prometheus runs as {live.user}, not root",
        {"user": live.user},
    )


def check_grafana_default_password(config: RunConfig) -> CheckResult:
    cid = "security.grafana.default_password"
    session = grafana_session(config.grafana, with_auth=False)
    status = session.get(
        f"{config.grafana.url}/api/user", auth=("admin", "admin"), timeout=10
    ).status_code
    if status == 200:
        return result(
            cid,
            KIND,
            "grafana",
            False,
            "Grafana accepts admin/admin: change the default password",
            {"http_status": status},
        )
    return result(
        cid,
        KIND,
        "grafana",
        status == 401,
        f"admin/admin rejected with HTTP {status}",
        {"http_status": status},
    )


def check_grafana_anonymous(config: RunConfig) -> CheckResult:
    cid = "security.grafana.anonymous"
    session = grafana_session(config.grafana, with_auth=False)
    status = session.get(f"{config.grafana.url}/api/search", timeout=10).status_code
    if status in (401, 403):
        return result(
            cid, KIND, "grafana", True, f"anonymous /api/search refused with HTTP {status}"
        )
    return result(
        cid,
        KIND,
        "grafana",
        False,
        f"anonymous access on: /api/search answered HTTP {status} without credentials ([auth.anonymous] enabled)",
        {"http_status": status},
    )


def prometheus_security_checks(
    config: RunConfig, host: Any, live: Live, promtool: str
) -> list[CheckResult]:
    strict = config.hosts.strict
    checks = [
        ("security.prometheus.not_root", lambda: check_not_root(host, live, config)),
        ("security.prometheus.admin_api", lambda: check_admin_api(config)),
        ("security.prometheus.auth", lambda: check_prometheus_auth(config)),
        ("security.prometheus.tls", lambda: check_prometheus_tls(config)),
        ("security.prometheus.web_config", lambda: check_web_config(host, live, config, promtool)),
    ]
    return [soften(guarded(cid, KIND, "prometheus", fn), strict) for cid, fn in checks]


def grafana_security_checks(config: RunConfig) -> list[CheckResult]:
    strict = config.grafana.strict
    checks = [
        ("security.grafana.default_password", lambda: check_grafana_default_password(config)),
        ("security.grafana.anonymous", lambda: check_grafana_anonymous(config)),
    ]
    return [soften(guarded(cid, KIND, "grafana", fn), strict) for cid, fn in checks]
