"""Config sections for the host, Grafana and security checks (keys under `hosts:` and `grafana:`).

Every key is documented in README.md ("Configuration reference"). Secrets are never literal here:
Grafana credentials are the *names* of environment variables, read when a check runs.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cwparity.config_values import HttpUrl
from cwparity.errors import ConfigError

BACKENDS = ("local", "ssh", "paramiko", "ansible", "docker", "podman", "kubectl", "winrm")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PrometheusHost(_Strict):
    """What the guide's Linode layout looks like; the defaults are the guide's."""

    user: str = "prometheus"
    group: str = "prometheus"
    config_dir: str = "/etc/prometheus"
    config_file: str = "/etc/prometheus/prometheus.yml"
    data_dir: str = "/var/lib/prometheus"
    binaries: list[str] = Field(
        default_factory=lambda: ["/usr/local/bin/prometheus", "/usr/local/bin/promtool"]
    )
    unit_file: str = "/etc/systemd/system/prometheus.service"
    service: str = "prometheus"
    unit_flags: list[str] = Field(
        default_factory=lambda: [
            "--web.console.templates=/etc/prometheus/consoles",
            "--web.console.libraries=/etc/prometheus/console_libraries",
        ]
    )
    listen_port: int | None = Field(default=None, ge=1, le=65535)
    #: the target (host:port, as Prometheus scrapes it) the app's job must hold; none: every
    #: target of the job must be up
    scrape_target: str | None = None
    #: true when Prometheus scrapes the app at the address in app.base_url (the target is then
    #: that host:port); false by default: Prometheus often reaches the app by another name
    scrape_target_from_app: bool = False
    max_scrape_age: float | None = Field(default=None, gt=0)
    require_auth: bool = False
    require_tls: bool = False
    web_config_file: str | None = None

    @model_validator(mode="after")
    def _one_target_source(self) -> PrometheusHost:
        if self.scrape_target and self.scrape_target_from_app:
            raise ValueError("give scrape_target or scrape_target_from_app, not both")
        return self


class HostsConfig(_Strict):
    """The monitoring host and how to reach it (testinfra's host spec, as ``--hosts`` takes)."""

    enabled: bool = False
    host: str = "local://"
    ssh_identity_file: str | None = None
    ssh_config: str | None = None
    sudo: bool = False
    profile: Literal["systemd", "process"] = "systemd"
    strict: bool = True
    prometheus: PrometheusHost = PrometheusHost()

    @field_validator("host")
    @classmethod
    def _host_spec(cls, host: str) -> str:
        scheme, _, rest = host.partition("://") if "://" in host else ("", "", "")
        if scheme not in BACKENDS:
            raise ValueError(
                "expected a testinfra host spec such as local://, ssh://user@host, "
                "paramiko://user@host or ansible://name?ansible_inventory=FILE"
            )
        if scheme not in ("local", "ansible") and not rest.strip():
            raise ValueError(f"{scheme}:// names no host: give {scheme}://HOST")
        return host

    @property
    def backend(self) -> str:
        return self.host.split("://", 1)[0]


class DatasourceExpect(_Strict):
    name: str = "Prometheus"
    #: the URL the datasource must hold (compared with Grafana's, so it must be one)
    url: HttpUrl | None = None


class DashboardExpect(_Strict):
    uid: str | None = None
    title: str | None = None
    panel: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DashboardExpect:
        if self.uid is None and self.title is None:
            raise ValueError("give the dashboard's uid or title")
        return self


class GrafanaConfig(_Strict):
    """Grafana's HTTP API and what must be in it (the guide's datasource and latency panel)."""

    enabled: bool = False
    url: HttpUrl | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    verify_tls: bool = True
    strict: bool = True
    service: str = "grafana-server"
    port: int = Field(default=3000, ge=1, le=65535)
    datasource: DatasourceExpect = DatasourceExpect()
    dashboard: DashboardExpect | None = None
    step: float = Field(default=15.0, gt=0)
    relative_tolerance: float = Field(default=0.001, ge=0)
    absolute_tolerance: float = Field(default=1e-9, ge=0)

    @model_validator(mode="after")
    def _url_when_enabled(self) -> GrafanaConfig:
        if self.enabled and not self.url:
            raise ValueError("grafana.enabled needs grafana.url")
        return self

    def auth(self) -> tuple[str, str] | None:
        """(user, password) from the environment variables named in the config, if any."""
        if not self.username_env and not self.password_env:
            return None
        return (
            _env(self.username_env, "grafana.username_env"),
            _env(self.password_env, "grafana.password_env"),
        )

    def token(self) -> str | None:
        return _env(self.token_env, "grafana.token_env") if self.token_env else None


def _env(name: str | None, key: str) -> str:
    if not name:
        raise ConfigError(f"{key}: not set (give the name of an environment variable)")
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"{key}: environment variable {name} is not set")
    return value
