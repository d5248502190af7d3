"""The run's typed configuration, loaded from YAML and validated with pydantic.

Every key is documented in README.md ("Configuration reference"); keep the two in step.
A mistake becomes one ``ConfigError`` line naming the file, the key, the bad value and, for an
unknown key, the nearest valid one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cwparity.auth_settings import PrometheusTLS, SigV4
from cwparity.config_file import load_yaml, printable_key
from cwparity.config_values import (
    HttpUrl,
    aws_region,
    cloudwatch_name,
    cloudwatch_value,
    http_method,
    label_name,
    label_value,
    matchers,
    metric_name,
    output_folder,
    promql,
    run_name,
)
from cwparity.errors import ConfigError
from cwparity.hosts.settings import GrafanaConfig, HostsConfig
from cwparity.redact import is_secret_key, redact
from cwparity.redact import redact_url as redact_url  # re-exported: older imports name config

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``30``, ``"30s"``, ``"2m"``, ``"500ms"``: the forms Prometheus users write."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 2m or 500ms")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("expected a duration such as 30s, 2m or 500ms")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


#: past a year a duration is a typo, and past ~30,000 years it overflows datetime arithmetic
_LONGEST = 366 * 86400.0
Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=_LONGEST)]
#: a duration that means nothing at zero (a load that lasts 0 s, a poll every 0 s)
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0, le=_LONGEST)]
CloudWatchName = Annotated[str, AfterValidator(cloudwatch_name)]


class _Strict(BaseModel):
    # an infinite or NaN number (YAML's .inf, .nan) is no tolerance, duration or share
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CloudWatchConfig(_Strict):
    """Where the old metrics live and what they are called."""

    region: Annotated[str, AfterValidator(aws_region)] | None = None
    profile: str | None = None
    endpoint_url: HttpUrl | None = None
    # CloudWatch's API limits (API_Metric, API_Dimension): a name it would refuse is refused here
    namespace: CloudWatchName = "FlaskApp"
    metric_name: CloudWatchName = "EndpointLatency"
    endpoint_dimension: CloudWatchName = "Endpoint"
    method_dimension: CloudWatchName = "Method"
    #: a metric has at most 30 dimensions: 28 besides the endpoint's and the method's
    extra_dimensions: dict[CloudWatchName, Annotated[str, AfterValidator(cloudwatch_value)]] = (
        Field(default_factory=dict, max_length=28)
    )
    unit: Literal["Seconds", "Milliseconds", "Microseconds"] = "Seconds"
    percentiles: bool = True


class BasicAuth(_Strict):
    username: str
    password: SecretStr | None = None
    password_env: str | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> BasicAuth:
        if (self.password is None) == (self.password_env is None):
            raise ValueError("give exactly one of password or password_env")
        return self

    def resolved_password(self) -> str:
        return _secret_or_env(self.password, self.password_env, "prometheus.basic_auth")


class NamedQuery(_Strict):
    """A PromQL query the team will rely on after cutover (a dashboard panel, an alert)."""

    name: str
    expr: Annotated[str, AfterValidator(promql)]


class LintConfig(_Strict):
    """How PromQL lint findings count: ``warn`` reports them, ``fail`` fails the run."""

    severity: Literal["warn", "fail"] = "warn"


class PrometheusConfig(_Strict):
    """Where the new metrics live and how the histogram's labels map to CloudWatch dimensions."""

    url: HttpUrl = "http://127.0.0.1:9090"
    basic_auth: BasicAuth | None = None
    bearer_token: SecretStr | None = None
    bearer_token_env: str | None = None
    verify_tls: bool = True
    tls: PrometheusTLS = PrometheusTLS()
    sigv4: SigV4 | None = None
    # the job and selector go into PromQL selectors as they are: they must keep them parsable
    job: Annotated[str, AfterValidator(label_value)] = "flask_app"
    histogram: Annotated[str, AfterValidator(metric_name)] = "flask_http_request_duration_seconds"
    path_label: Annotated[str, AfterValidator(label_name)] = "path"
    method_label: Annotated[str, AfterValidator(label_name)] = "method"
    selector: Annotated[str, AfterValidator(matchers)] = ""
    scrape_interval: PositiveDuration | None = None
    unit: Literal["seconds", "milliseconds"] = "seconds"
    queries: list[NamedQuery] = Field(default_factory=list)
    #: raw-sample fetching at scale (sources/prometheus_raw.py): requests in flight at once,
    #: and the most samples one response may carry (Prometheus refuses a query that loads more
    #: than its --query.max-samples, 50,000,000 by default)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_samples_per_query: int = Field(default=1_000_000, ge=1_000)

    @field_validator("bearer_token_env")
    @classmethod
    def _one_token_source(cls, env: str | None, info: ValidationInfo) -> str | None:
        if env is not None and info.data.get("bearer_token") is not None:
            raise ValueError("give bearer_token or bearer_token_env, not both")
        return env

    # field validators, not a model validator: an error then names the key and echoes only its
    # own value, never the section's secrets (basic_auth, bearer_token)
    @field_validator("tls")
    @classmethod
    def _ca_is_used(cls, tls: PrometheusTLS, info: ValidationInfo) -> PrometheusTLS:
        if tls.ca_file and info.data.get("verify_tls") is False:
            raise ValueError("ca_file with verify_tls: false: the CA would never be used")
        return tls

    @field_validator("sigv4")
    @classmethod
    def _sigv4_alone(cls, sigv4: SigV4 | None, info: ValidationInfo) -> SigV4 | None:
        others = [k for k in ("basic_auth", "bearer_token", "bearer_token_env") if info.data.get(k)]
        if sigv4 is not None and others:
            raise ValueError(f"sigv4 signs the Authorization header: remove {', '.join(others)}")
        return sigv4

    def bearer(self) -> str | None:
        if self.bearer_token is None and self.bearer_token_env is None:
            return None
        return _secret_or_env(self.bearer_token, self.bearer_token_env, "prometheus.bearer_token")


class AppConfig(_Strict):
    base_url: HttpUrl = "http://127.0.0.1:8080"


class CountTolerance(_Strict):
    slack: int = Field(default=0, ge=0)
    window_slack: int = Field(default=0, ge=0)


class LatencyTolerance(_Strict):
    relative: float = Field(default=0.05, ge=0)
    absolute_ms: float = Field(default=5.0, ge=0)


class PercentileTolerance(_Strict):
    #: CloudWatch computes percentiles approximately: how far past a bucket edge still counts
    edge_relative: float = Field(default=0.01, ge=0, le=0.5)


class BiasTolerance(_Strict):
    min_periods: int = Field(default=3, ge=2)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class DistributionTolerance(_Strict):
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    min_periods: int = Field(default=3, ge=2)


class SideBySideTolerance(_Strict):
    #: confidence of the spread-derived part of side-by-side bounds
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class Tolerances(_Strict):
    count: CountTolerance = CountTolerance()
    mean_latency: LatencyTolerance = LatencyTolerance()
    percentile: PercentileTolerance = PercentileTolerance()
    bias: BiasTolerance = BiasTolerance()
    distribution: DistributionTolerance = DistributionTolerance()
    side_by_side: SideBySideTolerance = SideBySideTolerance()


def merge_set_fields(base: BaseModel, override: BaseModel) -> BaseModel:
    """``base`` with only the keys the user set in ``override`` replaced, nested ones too."""
    update: dict[str, Any] = {}
    for name in override.model_fields_set:
        mine, theirs = getattr(base, name), getattr(override, name)
        update[name] = (
            merge_set_fields(mine, theirs)
            if isinstance(mine, BaseModel) and isinstance(theirs, BaseModel)
            else theirs
        )
    return base.model_copy(update=update)


Side = Literal["cloudwatch", "prometheus"]
SIDES: tuple[Side, ...] = ("cloudwatch", "prometheus")


class TargetConfig(_Strict):
    """One deployment in a side-by-side run, and the share of real traffic it takes."""

    base_url: HttpUrl
    traffic_share: float | None = Field(default=None, gt=0, le=1)


class TargetsConfig(_Strict):
    """Side by side: the old app observed through CloudWatch, the new one through Prometheus."""

    cloudwatch: TargetConfig
    prometheus: TargetConfig

    @field_validator("prometheus")
    @classmethod
    def _shares_split_the_traffic(cls, new: TargetConfig, info: ValidationInfo) -> TargetConfig:
        old = info.data.get("cloudwatch")
        shares = (old.traffic_share if old else None, new.traffic_share)
        if shares.count(None) == 1:
            raise ValueError("give traffic_share on both targets or on neither")
        if None not in shares and not math.isclose(sum(shares), 1.0, abs_tol=1e-6):  # type: ignore[arg-type]
            raise ValueError("the two traffic_share values must add up to 1")
        return new


class Route(_Strict):
    path: str
    method: str = "GET"
    weight: int = Field(default=1, ge=0)
    #: overrides of the run's tolerances for this route only (only the keys given)
    tolerances: Tolerances | None = None
    #: side by side: which deployments serve this route (only routes on both are compared)
    sides: list[Side] = Field(default_factory=lambda: list(SIDES), min_length=1)

    @field_validator("method")
    @classmethod
    def _token(cls, method: str) -> str:
        return http_method(method)

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("must start with /")
        return path

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class LoadConfig(_Strict):
    enabled: bool = True
    profile: Literal["steady", "ramp"] = "steady"
    users: int = Field(default=4, ge=1, le=200)
    spawn_rate: float = Field(default=4.0, gt=0)
    duration: PositiveDuration = 40.0
    wait_min: Duration = 0.05
    wait_max: Duration = 0.2
    stop_timeout: Duration = 10.0
    max_requests: int | None = Field(default=None, ge=1)
    #: false when other traffic reaches the app during the run: backends must then count at
    #: least what Locust sent, not exactly
    exclusive: bool = True
    #: Locust worker processes started here beside a master (0: Locust runs in one process)
    workers: int = Field(default=0, ge=0, le=64)
    #: workers started on other machines (``locust -f - --worker --master-host ...``) that the
    #: master waits for besides the local ones
    remote_workers: int = Field(default=0, ge=0, le=1000)
    #: ``HOST:PORT`` the master listens on for its workers; default: loopback, a free port
    master_bind: str | None = None
    #: how long the master waits for every worker to connect before it gives up
    worker_wait: PositiveDuration = 60.0

    @field_validator("master_bind")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value)
        return value

    @model_validator(mode="after")
    def _remote_workers_need_an_address(self) -> LoadConfig:
        if self.remote_workers and self.master_bind is None:
            raise ValueError(
                "load.remote_workers needs load.master_bind: the HOST:PORT they connect to"
            )
        return self

    @property
    def distributed(self) -> bool:
        return bool(self.workers or self.remote_workers)


def split_host_port(value: str) -> tuple[str, int]:
    """``"10.0.0.5:5557"`` or ``"[::1]:5557"`` as (host, port); ValueError when it is neither."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:5557 or 127.0.0.1:5557")
    return host, int(port)


class WindowConfig(_Strict):
    """The window judged, and how long to wait for CloudWatch's late data (see cwparity.settle).

    The settle defaults are safe for real AWS; the embedded demo's config shortens them.
    """

    #: CloudWatch keeps data 455 days (15 months): a longer period can never be complete
    period: int = Field(default=60, ge=1, le=455 * 86400)
    #: the longest the settle polls, from its first read: cloudwatch_exporter treats data
    #: younger than 10 minutes as "not fully converged" (its delay_seconds default, 600 s)
    settle_timeout: PositiveDuration = 600.0
    #: the shortest wait between two settle polls
    settle_poll: PositiveDuration = 5.0
    #: a period is final once nothing new arrived for it this long: longer than the gaps
    #: between CloudWatch's ingestion batches (one standard-resolution minute)
    settle_quiet: PositiveDuration = 60.0
    #: data younger than this is never trusted: Mimir's query-tee skips the newest 2 minutes
    #: (-proxy.compare-skip-recent-samples) to avoid racing ingestion
    settle_min_age: Duration = 120.0
    clock_skew: Duration = 0.25

    @model_validator(mode="after")
    def _a_fresh_window_can_settle(self) -> WindowConfig:
        needed = self.settle_min_age + self.settle_quiet
        if self.settle_timeout < needed:
            raise ValueError(
                f"settle_timeout ({self.settle_timeout:g}s) is shorter than settle_min_age + "
                f"settle_quiet ({needed:g}s): a window just loaded could never settle"
            )
        return self

    @field_validator("period")
    @classmethod
    def _cloudwatch_period(cls, period: int) -> int:
        if period not in (1, 5, 10, 30) and period % 60:
            raise ValueError("CloudWatch periods are 1, 5, 10, 30 or a multiple of 60 seconds")
        return period


class ReportConfig(_Strict):
    output_dir: Annotated[str, AfterValidator(output_folder)] = "reports"


class CoverageConfig(_Strict):
    """Coverage parity: every route one side saw must be on the other, apart from ``ignore``."""

    enabled: bool = True
    #: routes left out of coverage: ``/path`` (any method) or ``METHOD /path``, shell-style
    #: wildcards allowed. Default ``/metrics``: an app publishing every request to CloudWatch
    #: (the guide's hook) also publishes Prometheus's scrapes, which the exporter never counts
    ignore: list[str] = Field(default_factory=lambda: ["/metrics"])


class CostConfig(_Strict):
    """The cost and capacity estimate in every run (report section, results.json ``run.cost``)."""

    enabled: bool = True
    #: a YAML price table replacing the packaged one (another region, a negotiated price)
    price_table: str | None = None
    #: the Prometheus retention to size the disk for (default: the server's own setting)
    retention: PositiveDuration | None = None
    #: only log groups whose name starts with this count towards log storage (default: all)
    log_group_prefix: str | None = None


class AlertmanagerSettings(_Strict):
    """Where the alerts go: read through its API during the load, checked on the host."""

    #: Alertmanager's HTTP API as the harness reaches it (the embedded stack fills it in)
    url: HttpUrl | None = None
    #: its config file on the monitoring host, for ``amtool check-config`` (default: the
    #: running process's ``--config.file``, else Debian's /etc/prometheus/alertmanager.yml)
    config_file: str | None = None


class AlarmsConfig(_Strict):
    """CloudWatch alarms and the Prometheus rules that replace them (README: ``alarms.*``)."""

    enabled: bool = False
    #: alarm names to judge; empty: every alarm on the mapped metric
    names: list[str] = Field(default_factory=list)
    name_prefix: str = ""
    #: the team's own Prometheus rule files (paths relative to the config file)
    rules_files: list[str] = Field(default_factory=list)
    #: how a team rule names its alarm: a label, an annotation (both ``pair_key``) or its name
    pair_by: Literal["label", "annotation", "name"] = "label"
    pair_key: str = "cloudwatch_alarm"
    #: where the translated rules go on the monitoring host (the file is in the run folder)
    host_rules_path: str = "/etc/prometheus/rules/cwparity-alarms.yml"
    #: CloudWatch's evaluation range is N + this many periods (AWS's examples: 5 for N = 3)
    extra_range_periods: int = Field(default=2, ge=0, le=20)
    #: the embedded stack's rule evaluation interval (default: the scrape interval)
    evaluation_interval: PositiveDuration | None = None
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()

    @field_validator("pair_key")
    @classmethod
    def _label_name(cls, key: str) -> str:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
            raise ValueError("must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        return key


class RunConfig(_Strict):
    """One parity run: the two sources, the app, its routes, the load and the tolerances."""

    name: Annotated[str, AfterValidator(run_name)] = "parity"
    cloudwatch: CloudWatchConfig = CloudWatchConfig()
    prometheus: PrometheusConfig = PrometheusConfig()
    app: AppConfig = AppConfig()
    routes: list[Route] = Field(
        default_factory=lambda: [Route(path="/", weight=3), Route(path="/long-request")],
        min_length=1,
    )
    load: LoadConfig = LoadConfig()
    window: WindowConfig = WindowConfig()
    tolerances: Tolerances = Tolerances()
    report: ReportConfig = ReportConfig()
    lint: LintConfig = LintConfig()
    targets: TargetsConfig | None = None
    hosts: HostsConfig = HostsConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    coverage: CoverageConfig = CoverageConfig()
    cost: CostConfig = CostConfig()
    alarms: AlarmsConfig = AlarmsConfig()

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, routes: list[Route]) -> list[Route]:
        counts = Counter(route.key for route in routes)
        duplicates = sorted(key for key, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"route listed twice: {duplicates[0]}")
        return routes

    @property
    def side_by_side(self) -> bool:
        return self.targets is not None

    def load_targets(self) -> list[str]:
        """Where load goes: both deployments side by side (mirrored), else the one app."""
        if self.targets is None:
            return [self.app.base_url]
        return [self.targets.cloudwatch.base_url, self.targets.prometheus.base_url]

    def target_url(self, side: Side) -> str:
        if self.targets is None:
            return self.app.base_url
        return getattr(self.targets, side).base_url

    def for_route(self, key: str) -> RunConfig:
        """This config with the route's own tolerance overrides applied."""
        route = next((r for r in self.routes if r.key == key), None)
        if route is None or route.tolerances is None:
            return self
        merged = merge_set_fields(self.tolerances, route.tolerances)
        return self.model_copy(update={"tolerances": merged})

    def redacted(self) -> dict[str, Any]:
        """The config as plain data with every secret masked: safe for logs and reports."""
        data = self.model_dump(mode="json")
        return redact(data)

    def digest(self) -> str:
        """A short fingerprint of the (redacted) config, shown in the report."""
        canonical = json.dumps(self.redacted(), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:12]


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config; every failure is a one-line ``ConfigError``."""
    path = Path(path)
    raw = load_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys, not {type(raw).__name__}"
        )
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, raw, source)) from None


def describe_validation_error(err: ValidationError, raw: dict[str, Any], source: str) -> str:
    """The first pydantic error as ``file: key 'a.b' = value: what is wrong``."""
    errors = err.errors()
    # a misspelt key also shows as a missing one: name the misspelling, it explains both
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    location = [printable_key(str(part)) for part in first["loc"]]
    key = ".".join(location)
    if first["type"] == "extra_forbidden":
        hint = _nearest_key(location)
        suggestion = f" (did you mean '{hint}'?)" if hint else ""
        return f"{source}: unknown key '{key}'{suggestion}"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"{source}: key '{key}' is required"
    if not location:
        return f"{source}: {message}"
    value = _preview(first.get("input"), location[-1])
    return f"{source}: key '{key}' = {value}: {message[:300]}"


def _nearest_key(location: list[str]) -> str | None:
    model: type[BaseModel] = RunConfig
    for part in location[:-1]:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None) if field else None
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if a]
        nested = next(
            (a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if nested is None:
            if part.isdigit():
                continue
            return None
        model = nested
    matches = difflib.get_close_matches(location[-1], list(model.model_fields), n=1, cutoff=0.5)
    return ".".join([*location[:-1], matches[0]]) if matches else None


#: how much of a bad value an error line shows: enough to recognise it, never all of a huge one
_PREVIEW_CHARS, _PREVIEW_ITEMS, _PREVIEW_DEPTH = 80, 4, 2


def _preview(value: Any, key: str) -> str:
    """A short repr of a bad value with secrets masked, built without walking all of it (an
    alias-expanded value can be enormous): at most a few items, levels and characters."""
    text = repr(_bounded(value, key, _PREVIEW_DEPTH))
    return text if len(text) <= 2 * _PREVIEW_CHARS else text[: 2 * _PREVIEW_CHARS] + "…"


def _bounded(value: Any, key: str, depth: int) -> Any:
    # a section of credentials (basic_auth) shows its keys' names, never a bare value
    if is_secret_key(key) or ("auth" in key and not isinstance(value, dict)):
        return "***"
    if isinstance(value, str):
        masked = _mask_credentials(value)
        return masked if len(masked) <= _PREVIEW_CHARS else masked[:_PREVIEW_CHARS] + "…"
    if isinstance(value, dict | list | tuple | set):
        if depth == 0:
            return "…"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        shown = {}
        for index, (k, v) in enumerate(items):
            if index == _PREVIEW_ITEMS:
                shown["…"] = "…"
                break
            shown[k] = _bounded(v, str(k), depth - 1)
        return shown if isinstance(value, dict) else list(shown.values())
    return value if isinstance(value, int | float | bool | None) else type(value).__name__


# redact_url's pattern with the scheme bounded: an error line may quote a long value (up to the
# file's size), and an unbounded scheme makes the search quadratic on a long run of letters
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/?#\s]*@", re.I)


def _mask_credentials(text: str) -> str:
    """``user:password@`` in every URL inside ``text`` (up to the authority's last ``@``)."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def _secret_or_env(secret: SecretStr | None, env_name: str | None, key: str) -> str:
    if secret is not None:
        return secret.get_secret_value()
    assert env_name is not None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"{key}: environment variable {env_name} is not set")
    return value
