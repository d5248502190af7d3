"""Shared helpers for tests on the embedded stack: one stack per module, short windows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cwparity.config import RunConfig, load_config
from cwparity.flows import DEMO_APP_ENV, DEMO_CONFIG, load_and_plan, write_config
from cwparity.pytest_plugin import ParitySession
from cwparity.results import CheckResult
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.stack.moto import MOTO_CREDENTIALS

SHORT_LOAD = {"duration": 18.0, "users": 4}
#: moto makes what it was sent readable at once, so a short settle suffices here; the demo's own
#: keys (20 s quiet) allow for a CloudWatch that publishes in batches, which
#: test_bursty_cloudwatch.py runs with them (``settle={}``)
MOTO_SETTLE = {"settle_quiet": 5.0, "settle_min_age": 2.0, "settle_poll": 1.0}


@pytest.fixture(scope="module")
def moto_credentials() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in MOTO_CREDENTIALS}
    os.environ.update(MOTO_CREDENTIALS)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def dual_app_stack(logs: Path, env: dict[str, str] | None = None) -> EmbeddedStack:
    """An embedded stack (moto, Prometheus) with one dual app, started with the demo's
    environment and ``env`` over it; enter it to start it."""
    spec = StackSpec(apps=(AppSpec("dual_app", {**DEMO_APP_ENV, **(env or {})}),))
    return EmbeddedStack(spec, keep_logs_in=logs)


@pytest.fixture(scope="module")
def dual_stack(moto_credentials, tmp_path_factory) -> Iterator[EmbeddedStack]:
    with dual_app_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def demo_config(
    stack: EmbeddedStack, path: Path = DEMO_CONFIG, settle: dict | None = None, **load
) -> RunConfig:
    config = stack.configure(load_config(path))
    settle = MOTO_SETTLE if settle is None else settle
    # 5 s periods (a high-resolution period CloudWatch also serves) give a short load enough
    # periods for the bias and distribution checks
    return config.model_copy(
        update={
            "load": config.load.model_copy(update={**SHORT_LOAD, **load}),
            "window": config.window.model_copy(update={"period": 5, **settle}),
        }
    )


def parity_run(config: RunConfig, run_dir: Path) -> tuple[ParitySession, dict[str, CheckResult]]:
    """Load, plan, judge and write the reports, as `cwparity demo` does (without nested pytest)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(config, run_dir / "config.yaml")
    load_and_plan(config, config_path, run_dir, {"mode": "test"}).save()
    return judge(run_dir)


def judge(run_dir: Path) -> tuple[ParitySession, dict[str, CheckResult]]:
    """Evaluate a prepared run folder and write its reports."""
    session = ParitySession(run_dir)
    checks = {check.id: check for check in session.parity_checks()}
    session.write_reports()
    return session, checks
