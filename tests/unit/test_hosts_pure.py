"""Pure pieces of the host, Grafana and security checks: config, parsing, series comparison."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from cwparity.config import parse_config
from cwparity.errors import ConfigError
from cwparity.hosts import api
from cwparity.hosts.api import duration_seconds, find_target, parse_rfc3339
from cwparity.hosts.common import guarded, host_label, select, soften
from cwparity.hosts.live import Layout, flag_value, job_interval, static_targets, unit_service
from cwparity.hosts.prometheus_host import check_scrape_job, expected_target
from cwparity.hosts.series import compare_series, frames_to_series, grid_of, matrix_to_series
from cwparity.results import CheckResult, Status

GUIDE_UNIT = """[Unit]
Description=Prometheus Service

[Service]
User=prometheus
Group=prometheus
Type=simple
ExecStart=/usr/local/bin/prometheus \\
    --config.file=/etc/prometheus/prometheus.yml \\
    --storage.tsdb.path=/var/lib/prometheus

[Install]
WantedBy=multi-user.target
"""


def test_hosts_and_grafana_default_to_off():
    config = parse_config({})
    assert not config.hosts.enabled and not config.grafana.enabled
    assert config.hosts.profile == "systemd" and config.hosts.strict


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"hosts": {"host": "root@203.0.113.10"}},
            "key 'hosts.host' = 'root@203.0.113.10': expected a testinfra host spec",
        ),
        ({"hosts": {"profile": "docker"}}, "key 'hosts.profile' = 'docker'"),
        (
            {"hosts": {"prometheus": {"usr": "x"}}},
            "unknown key 'hosts.prometheus.usr' (did you mean 'hosts.prometheus.user'?)",
        ),
        ({"grafana": {"enabled": True}}, "grafana.enabled needs grafana.url"),
        ({"grafana": {"url": "grafana:3000"}}, "must start with http:// or https://"),
        ({"grafana": {"dashboard": {"panel": "Latency"}}}, "give the dashboard's uid or title"),
    ],
)
def test_config_mistakes_are_one_line(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="my.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_grafana_credentials_come_from_the_environment_only(monkeypatch):
    config = parse_config(
        {"grafana": {"url": "http://g:3000", "username_env": "GU", "password_env": "GP"}}
    )
    with pytest.raises(ConfigError, match="environment variable GU is not set"):
        config.grafana.auth()
    monkeypatch.setenv("GU", "admin")
    monkeypatch.setenv("GP", "hunter2-secret")
    assert config.grafana.auth() == ("admin", "hunter2-secret")
    assert "hunter2-secret" not in str(config.redacted())


def test_ssh_host_specs_are_accepted():
    for spec in (
        "ssh://ops@203.0.113.10",
        "paramiko://ops@h:2222",
        "ansible://mon?ansible_inventory=inv.ini",
        "local://",
    ):
        assert parse_config({"hosts": {"host": spec}}).hosts.host == spec


def test_unit_file_continuation_lines_are_joined():
    keys = unit_service(GUIDE_UNIT)
    assert keys["User"] == "prometheus"
    assert keys["ExecStart"].split() == [
        "/usr/local/bin/prometheus",
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/var/lib/prometheus",
    ]


def test_flags_with_equals_or_a_separate_value():
    argv = ("prometheus", "--config.file=/a.yml", "--storage.tsdb.path", "/data")
    assert flag_value(argv, "--config.file") == "/a.yml"
    assert flag_value(argv, "--storage.tsdb.path") == "/data"
    assert flag_value(argv, "--web.config.file") is None


def test_scrape_config_reading():
    config = {
        "global": {"scrape_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": "flask_app",
                "static_configs": [{"targets": ["a:8080"]}, {"targets": ["b:8080"]}],
            }
        ],
    }
    assert static_targets(config["scrape_configs"][0]) == ["a:8080", "b:8080"]
    assert job_interval(config, "flask_app") == "15s"
    assert job_interval({}, "flask_app") == "1m"


def test_prometheus_durations_and_timestamps():
    assert duration_seconds("1m30s") == 90
    assert duration_seconds("500ms") == 0.5
    with pytest.raises(ValueError):
        duration_seconds("often")
    assert parse_rfc3339("2026-11-25T05:00:00.123456789Z").timestamp() == pytest.approx(
        1795582800.123456
    )


def test_find_target_by_instance_or_address():
    active = [
        {
            "labels": {"job": "flask_app", "instance": "app:8080"},
            "discoveredLabels": {"__address__": "app:8080"},
        }
    ]
    assert find_target(active, "flask_app", "app:8080") is active[0]
    assert find_target(active, "flask_app", "app:8081") is None
    assert find_target(active, "other", "app:8080") is None


def check(status: Status) -> CheckResult:
    return CheckResult(
        "host.user[prometheus]", "host", "prometheus", status, "login shell /bin/bash"
    )


def test_soften_turns_only_failures_into_warnings():
    assert soften(check(Status.FAIL), strict=True).status is Status.FAIL
    warned = soften(check(Status.FAIL), strict=False)
    assert warned.status is Status.WARN and warned.reason == "warning: login shell /bin/bash"
    assert soften(check(Status.ERROR), strict=False).status is Status.ERROR
    assert soften(check(Status.PASS), strict=False).status is Status.PASS


def test_select_by_prefix():
    checks = [check(Status.PASS), CheckResult("host.dir[/x]", "host", "/x", Status.PASS, "ok")]
    assert [c.id for c in select(checks, "host.dir")] == ["host.dir[/x]"]
    assert len(select(checks, ("host.dir", "host.user"))) == 2


def frame(labels, times, values):
    fields = [
        {"name": "Time", "type": "time"},
        {"name": "Value", "type": "number", "labels": labels},
    ]
    return {"schema": {"fields": fields}, "data": {"values": [times, values]}}


def test_grafana_frames_and_prometheus_matrices_compare_equal():
    grafana = frames_to_series([frame({"path": "/"}, [1000, 2000], [0.5, None])])
    prometheus = matrix_to_series(
        [{"metric": {"__name__": "x", "path": "/"}, "values": [[1, "0.5"], [2, "NaN"]]}]
    )
    assert compare_series(grafana, prometheus, 0.0, 0.0) == ([], 2)
    assert grid_of(grafana, (0, 0, 1)) == (1.0, 2.0, 1.0)


def test_differences_are_named():
    prometheus = matrix_to_series(
        [
            {"metric": {"path": "/"}, "values": [[1, "0.5"]]},
            {"metric": {"path": "/b"}, "values": [[1, "1"]]},
        ]
    )
    grafana = frames_to_series([frame({"path": "/"}, [1000], [0.6])])
    problems, _ = compare_series(grafana, prometheus, 0.01, 0.0)
    assert 'series {path="/b"} missing in Grafana' in problems
    assert '{path="/"} at 1000 ms: Grafana 0.6, Prometheus 0.5' in problems
    assert (
        compare_series(
            grafana, matrix_to_series([{"metric": {"path": "/"}, "values": [[1, "0.5"]]}]), 0.25, 0
        )[0]
        == []
    )
    assert math.isnan(frames_to_series([frame({}, [1], [None])])[()][1])


def test_host_labels_mask_only_the_password():
    assert host_label("ssh://ops:hunter2@203.0.113.10:22") == "ssh://ops:***@203.0.113.10:22"
    assert host_label("ssh://ops@203.0.113.10") == "ssh://ops@203.0.113.10"


class FakeHost:
    """Only what reading the config needs: ``host.file(path).content_string``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def file(self, path: str) -> SimpleNamespace:
        return SimpleNamespace(content_string=self.text)


GUIDE_CONFIG = """global:
  scrape_interval: 15s
scrape_configs:
  - job_name: flask_app
    static_configs:
      - targets: ['localhost:8080']
"""
NOT_YAML = GUIDE_CONFIG + "\t- job_name: [broken\n"
LAYOUT = Layout("/etc/prometheus/prometheus.yml", "/var/lib/prometheus", (), "promtool")


def scrape_job(text: str, target: str | None) -> CheckResult:
    return guarded(
        "host.scrape_job[flask_app]",
        "host",
        "flask_app",
        lambda: check_scrape_job(FakeHost(text), LAYOUT, "flask_app", target),
    )


def test_the_scrape_target_is_configured_or_the_apps_only_when_asked():
    app = {"app": {"base_url": "http://198.51.100.20:8080"}}
    assert expected_target(parse_config(app)) is None
    asked = {**app, "hosts": {"prometheus": {"scrape_target_from_app": True}}}
    assert expected_target(parse_config(asked)) == "198.51.100.20:8080"
    given = {**app, "hosts": {"prometheus": {"scrape_target": "localhost:8080"}}}
    assert expected_target(parse_config(given)) == "localhost:8080"
    with pytest.raises(ConfigError, match="not both"):
        both = {"scrape_target": "a:1", "scrape_target_from_app": True}
        parse_config({"hosts": {"prometheus": both}})


def test_the_scrape_job_check_without_a_target_wants_the_job_with_targets():
    assert scrape_job(GUIDE_CONFIG, None).status is Status.PASS
    assert scrape_job(GUIDE_CONFIG, "localhost:8080").status is Status.PASS
    wrong = scrape_job(GUIDE_CONFIG, "198.51.100.20:8080")
    assert wrong.status is Status.FAIL
    assert wrong.reason == "job flask_app targets ['localhost:8080'], expected 198.51.100.20:8080"
    empty = scrape_job("scrape_configs:\n  - job_name: flask_app\n", None)
    assert (
        empty.status is Status.FAIL
        and empty.reason == "job flask_app has no targets and no discovery"
    )
    discovered = (
        "scrape_configs:\n  - job_name: flask_app\n    file_sd_configs: [{files: [a.json]}]\n"
    )
    check = scrape_job(discovered, "198.51.100.20:8080")
    assert check.status is Status.PASS and check.reason == "job flask_app scrapes file_sd_configs"


def test_a_config_that_does_not_parse_is_never_judged_from_a_guess():
    check = scrape_job(NOT_YAML, None)
    assert check.status is Status.SKIP
    assert check.reason.startswith(
        "could not read the config /etc/prometheus/prometheus.yml: line 7"
    )


def targets(*entries: dict) -> dict:
    return {"data": {"activeTargets": list(entries)}}


def target(
    instance: str, health: str = "up", interval: str = "15s", job: str = "flask_app"
) -> dict:
    return {
        "labels": {"job": job, "instance": instance},
        "discoveredLabels": {"__address__": instance, "job": job},
        "health": health,
        "lastError": "" if health == "up" else "connection refused",
        "lastScrape": "2026-11-25T05:00:00.5Z",
        "scrapeInterval": interval,
    }


@pytest.fixture
def prometheus_answers(monkeypatch):
    """The targets API's answer, and Prometheus's clock 2 s after the last scrape."""
    answer: dict = {}
    monkeypatch.setattr(api, "get_json", lambda session, url, **kw: (200, answer["targets"]))
    monkeypatch.setattr(api, "server_time", lambda session, url: 1795582802.5)
    return answer


def judge_target(text: str, wanted: str | None, **prometheus) -> CheckResult:
    config = parse_config({"prometheus": prometheus})
    return guarded(
        "host.target[flask_app]",
        "host",
        "flask_app",
        lambda: api.check_target(config, FakeHost(text), LAYOUT, wanted),
    )


def test_without_a_target_every_target_of_the_job_must_be_up(prometheus_answers):
    prometheus_answers["targets"] = targets(
        target("a:8080"), target("b:8080"), target("x", job="node")
    )
    check = judge_target(GUIDE_CONFIG, None)
    assert check.status is Status.PASS
    assert check.reason == "2 targets of flask_app up, scraped 2.0s ago every 15s"
    prometheus_answers["targets"] = targets(target("a:8080"), target("b:8080", health="down"))
    down = judge_target(GUIDE_CONFIG, None)
    assert down.status is Status.FAIL
    assert down.reason == "target b:8080 is down: connection refused"
    prometheus_answers["targets"] = targets(target("x", job="node"))
    none = judge_target(GUIDE_CONFIG, None)
    assert (
        none.status is Status.FAIL
        and none.reason == "Prometheus has no active target in job flask_app"
    )


def test_a_named_target_must_be_in_the_job(prometheus_answers):
    prometheus_answers["targets"] = targets(target("localhost:8080"))
    assert judge_target(GUIDE_CONFIG, "localhost:8080").status is Status.PASS
    missing = judge_target(GUIDE_CONFIG, "198.51.100.20:8080")
    assert missing.reason == "Prometheus has no active target 198.51.100.20:8080 in job flask_app"


def test_the_target_interval_is_compared_with_the_config_only_when_it_parses(prometheus_answers):
    prometheus_answers["targets"] = targets(target("localhost:8080", interval="15s"))
    other = judge_target(GUIDE_CONFIG.replace("15s", "1m"), None)
    assert other.status is Status.FAIL
    assert other.reason == "scrape interval 15s differs from the config's 1m"
    # the file does not parse: its interval is unknown, not the 1m default
    unparsed = judge_target(NOT_YAML, None)
    assert unparsed.status is Status.PASS
    assert "interval not compared with the config (could not read the config" in unparsed.reason
    garbled = judge_target(GUIDE_CONFIG.replace("15s", "often"), None)
    assert garbled.status is Status.PASS and "'often' is not a duration" in garbled.reason
    stale = judge_target(GUIDE_CONFIG, None, scrape_interval="1s")
    assert stale.status is Status.FAIL
    assert stale.reason == "scrape interval 15s differs from prometheus.scrape_interval 1s"
