"""No secret reaches what a run writes or shows: `cwparity run` on the embedded stack (side by
side, with the Grafana stand-in) with credentials in every URL a user can give and an inline
secret in every secret key, then the same window re-judged with a bearer token, and `validate`.
Every file of the run folders, stdout, stderr and the command line of every process the run
started are searched for each secret raw, URL-encoded and base64-encoded: zero hits, and the
runs reached their judgement with those credentials."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
import yaml

from cwparity.flows import DEMO_APP_ENV
from cwparity.paths import FIXTURES_DIR
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec

sys.path.insert(0, str(FIXTURES_DIR))
from grafana_standin import GrafanaStandin, StandinState

pytestmark = pytest.mark.e2e

#: (user, secret) per place a secret can be given; the user is only there to make basic auth
SECRETS = {
    "prometheus.url": ("promurluser", "PromUrl!Pass1"),
    "prometheus.basic_auth.password": ("promuser", "Inl1ne!Basic2"),
    "prometheus.bearer_token": ("", "Inl1ne!Bearer3"),
    "app.base_url": ("appurluser", "AppUrl!Pass4"),
    "targets.cloudwatch.base_url": ("oldurluser", "OldUrl!Pass5"),
    "targets.prometheus.base_url": ("newurluser", "NewUrl!Pass6"),
    "grafana.url": ("grafurluser", "GrafUrl!Pass7"),
    "grafana password (env)": ("admin", "Graf!Password8"),
    "grafana token (env)": ("", "glsa_Graf!Token9"),
    "cloudwatch.endpoint_url": ("cwurluser", "CwUrl!Pass10"),
    "AWS_ACCESS_KEY_ID": ("", "AKIALEAKTEST0000EXMPL"),
    "AWS_SECRET_ACCESS_KEY": ("", "AwsSecret!Key11/leak+test"),
    "AWS_SESSION_TOKEN": ("", "AwsSession!Token12"),
}
ENV_NAMES = {"user": "CWP_LEAK_GF_USER", "password": "CWP_LEAK_GF_PASSWORD"}
TOKEN_ENV = "CWP_LEAK_GF_TOKEN"


def secret(place: str) -> str:
    return SECRETS[place][1]


def with_credentials(url: str, place: str) -> str:
    user, password = SECRETS[place]
    return url.replace("://", f"://{quote(user, safe='')}:{quote(password, safe='')}@", 1)


def base64_cores(text: str) -> set[str]:
    """What ``text`` looks like inside any base64 stream: at each of the three byte offsets,
    the characters that encode only its own bytes."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + text.encode()).decode()
        start = -(-offset // 3) * 4
        cores.add(encoded[start : len(encoded) - 4])
    return {core for core in cores if len(core) >= 8}


def forms(place: str) -> dict[str, str]:
    user, value = SECRETS[place]
    found = {"raw": value, "url-encoded": quote(value, safe="")}
    found |= {f"base64 {core}": core for core in base64_cores(value)}
    if user:
        found["basic auth"] = base64.b64encode(f"{user}:{value}".encode()).decode()
    return found


def leaks(haystacks: dict[str, bytes]) -> list[str]:
    hits = []
    for where, data in haystacks.items():
        for place in SECRETS:
            for form, needle in forms(place).items():
                if needle.encode() in data:
                    hits.append(f"{place} ({form}) in {where}")
    return hits


def test_the_scan_finds_every_form_it_looks_for():
    # the twin: each form of a planted secret is found where it hides
    value = secret("prometheus.url")
    planted = {
        "raw": f"x {value} y".encode(),
        "url": f"http://u:{quote(value, safe='')}@h".encode(),
        "header": b"Authorization: Basic " + base64.b64encode(f"promurluser:{value}".encode()),
        "stream": base64.b64encode(f'{{"k": "{value}"}}'.encode()),
    }
    for where in planted:
        assert leaks({where: planted[where]}), where
    assert leaks({"clean": b"http://***@127.0.0.1:9090 and Pass1"}) == []


class ProcessWatch:
    """The command lines of every process below ``pid`` while it runs (read from /proc)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.command_lines: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            try:
                children = self.root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in [self.root, *children]:
                try:
                    line = Path(f"/proc/{child.pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if line:  # empty once it exited; an exec may change it: keep every one seen
                    key = f"{child.pid}: {line[:60]!r}"
                    self.command_lines[key] = line.replace(b"\0", b" ")

    def stop(self) -> dict[str, bytes]:
        self._stop.set()
        self._thread.join(5)
        return self.command_lines


def run_cli(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict]:
    child = subprocess.Popen(
        [sys.executable, "-m", "cwparity.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    watch = ProcessWatch(child.pid)
    try:
        stdout, stderr = child.communicate(timeout=300)
    finally:
        child.kill()
        command_lines = watch.stop()
    done = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    return done, command_lines


def run_folder_files(out: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in out.rglob("*") if path.is_file()}


def leak_config(stack: EmbeddedStack, grafana_url: str) -> dict:
    old, new = (app.url for app in stack.apps)
    return {
        "name": "no-leaks",
        "cloudwatch": {
            "region": "us-east-1",
            "endpoint_url": with_credentials(stack.cloudwatch_url, "cloudwatch.endpoint_url"),
        },
        "prometheus": {
            "url": with_credentials(stack.prometheus_url, "prometheus.url"),
            "basic_auth": {
                "username": SECRETS["prometheus.basic_auth.password"][0],
                "password": secret("prometheus.basic_auth.password"),
            },
            "scrape_interval": "1s",
        },
        "app": {"base_url": with_credentials(new, "app.base_url")},
        "targets": {
            "cloudwatch": {"base_url": with_credentials(old, "targets.cloudwatch.base_url")},
            "prometheus": {"base_url": with_credentials(new, "targets.prometheus.base_url")},
        },
        "routes": [
            {"path": "/", "weight": 3},
            {"path": "/long-request", "sides": ["prometheus"]},
        ],
        "load": {"duration": "10s", "users": 3, "stop_timeout": "5s"},
        "window": {
            "period": 10,
            "settle_timeout": "30s",
            "settle_poll": "2s",
            "settle_quiet": "5s",
            "settle_min_age": "2s",
        },
        "grafana": {
            "enabled": True,
            "url": with_credentials(grafana_url, "grafana.url"),
            "username_env": ENV_NAMES["user"],
            "password_env": ENV_NAMES["password"],
            "token_env": TOKEN_ENV,
            "dashboard": {"uid": "flask-latency"},
            "step": 5,
        },
    }


def with_bearer_token(config: dict) -> dict:
    prometheus = {k: v for k, v in config["prometheus"].items() if k != "basic_auth"}
    prometheus["bearer_token"] = secret("prometheus.bearer_token")
    return {**config, "prometheus": prometheus}


def test_no_secret_reaches_files_output_or_command_lines(tmp_path):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": secret("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": secret("AWS_SECRET_ACCESS_KEY"),
        "AWS_SESSION_TOKEN": secret("AWS_SESSION_TOKEN"),
        ENV_NAMES["user"]: "admin",
        ENV_NAMES["password"]: secret("grafana password (env)"),
        TOKEN_ENV: secret("grafana token (env)"),
    }
    spec = StackSpec(
        apps=(
            AppSpec("cloudwatch_app", dict(DEMO_APP_ENV), scraped=False),
            AppSpec("prometheus_app", dict(DEMO_APP_ENV)),
        )
    )
    haystacks: dict[str, bytes] = {}
    with EmbeddedStack(spec, keep_logs_in=tmp_path / "stack") as stack:
        state = StandinState(
            stack.prometheus_url,
            admin_password=secret("grafana password (env)"),
            api_token=secret("grafana token (env)"),
        )
        with GrafanaStandin(state) as grafana_url:
            config = leak_config(stack, grafana_url)
            basic = tmp_path / "basic.yaml"
            basic.write_text(yaml.safe_dump(config))
            first, lines = run_cli(
                "run", "--config", str(basic), "--out", str(tmp_path / "one"), env=env
            )
            assert first.returncode in (0, 1), first.stderr.decode()[-3000:]
            document = json.loads(next((tmp_path / "one").glob("*/results.json")).read_text())
            window = document["run"]["window"]

            bearer = tmp_path / "bearer.yaml"
            bearer.write_text(yaml.safe_dump(with_bearer_token(config)))
            rejudge = ("--no-load", "--start", window["start"], "--end", window["end"])
            again, more_lines = run_cli(
                "run", "--config", str(bearer), "--out", str(tmp_path / "two"), *rejudge, env=env
            )
    checks = {c["id"]: c for c in document["checks"]}
    # judged with those credentials: the load reached both apps, the Grafana stand-in took the
    # token and its datasource matched prometheus.url once the URL's credentials are set aside
    assert checks["count[GET /]"]["status"] == "pass", checks["count[GET /]"]["reason"]
    for side in ("cloudwatch", "prometheus"):
        assert checks[f"count.{side}[GET /]"]["status"] == "pass", checks[f"count.{side}[GET /]"]
    datasource = checks["grafana.datasource[Prometheus]"]
    assert datasource["status"] == "pass", datasource["reason"]
    assert checks["grafana.dashboard[flask-latency]"]["status"] == "pass"
    second = json.loads(next((tmp_path / "two").glob("*/results.json")).read_text())
    judged_again = {c["id"]: c["status"] for c in second["checks"]}
    assert judged_again["mean_latency[GET /]"] == judged_again["coverage[GET /]"] == "pass"

    validated, validate_lines = run_cli("validate", "--config", str(bearer), env=env)
    assert validated.returncode == 0, validated.stderr.decode()
    assert len(lines) >= 2  # the CLI and Locust were seen
    assert any(b"-m locust" in line for line in lines.values())
    for name, done in (("run", first), ("re-judge", again), ("validate", validated)):
        haystacks[f"{name} stdout"] = done.stdout
        haystacks[f"{name} stderr"] = done.stderr
    for process, line in {**lines, **more_lines, **validate_lines}.items():
        haystacks[f"command line of pid {process}"] = line
    haystacks |= run_folder_files(tmp_path / "one") | run_folder_files(tmp_path / "two")
    assert any(path.endswith("locust_stats.csv") for path in haystacks)
    assert leaks(haystacks) == []
    parsed = [
        path for name in ("results.json", "junit.xml") for path in tmp_path.glob(f"*/*/{name}")
    ]
    assert len(parsed) == 4
    for path in parsed:
        strict_parse(path)


def strict_parse(path: Path) -> None:
    """results.json as RFC 8259 JSON (no NaN/Infinity), junit.xml with expat."""
    if path.suffix == ".xml":
        ET.parse(path)
        return

    def refuse(constant: str) -> None:
        raise ValueError(f"{path}: {constant} is not JSON")

    json.loads(path.read_text(), parse_constant=refuse)
