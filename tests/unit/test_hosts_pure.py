"""Pure pieces of the host, Grafana and security checks: config, parsing, series comparison."""

from __future__ import annotations

import math

import pytest

from cwparity.config import parse_config
from cwparity.errors import ConfigError
from cwparity.hosts.api import duration_seconds, find_target, parse_rfc3339
from cwparity.hosts.common import host_label, select, soften
from cwparity.hosts.live import flag_value, job_interval, static_targets, unit_service
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
