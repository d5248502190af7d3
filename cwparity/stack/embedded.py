"""The embedded default stack: moto as CloudWatch, example apps, a real Prometheus and, when
asked for, a real Alertmanager that Prometheus sends its alerts to.

Everything is started on free loopback ports inside one temp dir and stopped again on exit, on
failure and on Ctrl-C. Process logs are copied to ``keep_logs_in`` (the run's report folder) first,
so a failed start can still be diagnosed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cwparity.config import RunConfig
from cwparity.stack.alertmanager import start_alertmanager
from cwparity.stack.apps import start_app
from cwparity.stack.moto import MOTO_CREDENTIALS, start_moto
from cwparity.stack.process import ManagedProcess
from cwparity.stack.prometheus import (
    RULES_DIR,
    check_rules,
    reload,
    start_prometheus,
    wait_targets_up,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppSpec:
    """One example app: which script, its fault switches, and whether Prometheus scrapes it."""

    script: str = "dual_app"
    env: dict[str, str] = field(default_factory=dict)
    scraped: bool = True


@dataclass(frozen=True)
class StackSpec:
    apps: tuple[AppSpec, ...] = (AppSpec(),)
    scrape_interval: float = 1.0
    job: str = "flask_app"
    #: start an Alertmanager and point Prometheus's alerting at it
    alertmanager: bool = False
    #: rule evaluation interval (default: the scrape interval)
    evaluation_interval: float | None = None
    #: seconds: CloudWatch (moto) ingests in batches, each datum readable only from the next
    #: multiple of this after it was put, as real CloudWatch publishes late and in chunks
    cloudwatch_batch: float | None = None


@dataclass
class _RunningApp:
    spec: AppSpec
    process: ManagedProcess
    url: str
    port: int


class EmbeddedStack:
    def __init__(self, spec: StackSpec | None = None, keep_logs_in: Path | None = None) -> None:
        self.spec = spec or StackSpec()
        self.keep_logs_in = keep_logs_in
        self.cloudwatch_url = ""
        self.prometheus_url = ""
        self.alertmanager_url = ""
        self._prometheus: ManagedProcess | None = None
        self.apps: list[_RunningApp] = []
        self._exit = ExitStack()
        self._workdir = Path()
        self._processes: list[ManagedProcess] = []

    @property
    def app_url(self) -> str:
        return self.apps[0].url

    def __enter__(self) -> EmbeddedStack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self._workdir = Path(self._exit.enter_context(tempfile.TemporaryDirectory(prefix="cwp-")))
        moto, self.cloudwatch_url = start_moto(self._workdir, self.spec.cloudwatch_batch)
        self._processes.append(moto)
        for index, app_spec in enumerate(self.spec.apps):
            self._start_app(index, app_spec, port=None)
        if self.spec.alertmanager:
            alertmanager, self.alertmanager_url = start_alertmanager(self._workdir)
            self._processes.append(alertmanager)
        targets = [app.url.removeprefix("http://") for app in self.apps if app.spec.scraped]
        prometheus, self.prometheus_url = start_prometheus(
            self._workdir,
            targets,
            self.spec.job,
            self.spec.scrape_interval,
            alertmanager=self.alertmanager_url.removeprefix("http://") or None,
            evaluation_interval=self.spec.evaluation_interval,
        )
        self._prometheus = prometheus
        self._processes.append(prometheus)
        if targets:
            wait_targets_up(prometheus, self.prometheus_url, self.spec.job)
        log.info(
            "embedded stack up: prometheus %s, cloudwatch (moto) %s, apps %s",
            self.prometheus_url,
            self.cloudwatch_url,
            [a.url for a in self.apps],
        )

    def app_env(self, spec: AppSpec) -> dict[str, str]:
        return {**MOTO_CREDENTIALS, "AWS_ENDPOINT_URL": self.cloudwatch_url, **spec.env}

    def _start_app(self, index: int, spec: AppSpec, port: int | None) -> None:
        name = f"{spec.script}-{index}"
        process, url = start_app(spec.script, self._workdir, self.app_env(spec), port=port)
        process.name = name
        running = _RunningApp(spec, process, url, int(url.rsplit(":", 1)[1]))
        self._processes.append(process)
        if index < len(self.apps):
            self.apps[index] = running
        else:
            self.apps.append(running)

    def restart_app(self, index: int = 0, env: dict[str, str] | None = None) -> None:
        """Stop an app and start it again on the same port (its counters start from zero)."""
        old = self.apps[index]
        old.process.stop()
        self._processes.remove(old.process)
        spec = AppSpec(old.spec.script, {**old.spec.env, **(env or {})}, old.spec.scraped)
        self._start_app(index, spec, port=old.port)

    def load_rules(self, files: list[Path]) -> float:
        """Make Prometheus evaluate exactly these rule files (copied into its rules dir) and
        return when the reload took; raises StackError when Prometheus rejects them."""
        assert self._prometheus is not None
        check_rules(files)
        rules_dir = self._workdir / RULES_DIR
        for old in rules_dir.glob("*.yml"):
            old.unlink()
        for index, path in enumerate(files):
            # numbered: two teams' files may share a name
            shutil.copy(path, rules_dir / f"{index:02d}-{path.name.removesuffix('.yml')}.yml")
        reload(self._prometheus, self.prometheus_url, bool(self.alertmanager_url))
        return time.time()

    def reset_cloudwatch(self) -> None:
        requests.post(f"{self.cloudwatch_url}/moto-api/reset", timeout=5).raise_for_status()

    def configure(self, config: RunConfig) -> RunConfig:
        """The run config with this stack's URLs filled in."""
        cloudwatch = config.cloudwatch.model_copy(
            update={"endpoint_url": self.cloudwatch_url, "region": "us-east-1"}
        )
        prometheus = config.prometheus.model_copy(
            update={"url": self.prometheus_url, "scrape_interval": self.spec.scrape_interval}
        )
        app = config.app.model_copy(update={"base_url": self.app_url})
        update = {"cloudwatch": cloudwatch, "prometheus": prometheus, "app": app}
        if self.alertmanager_url:
            manager = config.alarms.alertmanager.model_copy(update={"url": self.alertmanager_url})
            update["alarms"] = config.alarms.model_copy(update={"alertmanager": manager})
        if config.targets is not None:
            update["targets"] = self._side_by_side_targets(config)
        return config.model_copy(update=update)

    def _side_by_side_targets(self, config: RunConfig):
        """Side by side: the app Prometheus does not scrape is the CloudWatch side."""
        assert config.targets is not None
        by_side = {"prometheus" if app.spec.scraped else "cloudwatch": app.url for app in self.apps}
        return config.targets.model_copy(
            update={
                side: getattr(config.targets, side).model_copy(update={"base_url": url})
                for side, url in by_side.items()
            }
        )

    def close(self) -> None:
        for process in reversed(self._processes):
            try:
                process.stop()
            except Exception as err:  # keep stopping the others
                log.warning("could not stop %s: %s", process.name, err)
        self._keep_logs()
        self._processes.clear()
        self._exit.close()

    def _keep_logs(self) -> None:
        if not self.keep_logs_in or not self._workdir.is_dir():
            return
        target = self.keep_logs_in / "stack-logs"
        target.mkdir(parents=True, exist_ok=True)
        for path in self._workdir.glob("*.log"):
            shutil.copy(path, target / path.name)
