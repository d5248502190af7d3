"""Config sections for the host, Grafana and security checks (keys under `hosts:` and `grafana:`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostsConfig(_Strict):
    """Placeholder until the host suites land (issue 4): no host checks configured."""

    enabled: bool = False


class GrafanaConfig(_Strict):
    """Placeholder until the Grafana suite lands (issue 4)."""

    url: str | None = None
