"""The pieces a run can be split into, the CLI's help, the window option, and where the shipped
files are found."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cwparity import cli, paths
from cwparity.config import parse_config
from cwparity.errors import ConfigError
from cwparity.flows import recent_window, window_option
from cwparity.parts import PARTS, marker_expression, parse_parts, require
from cwparity.pytest_plugin import with_testinfra_options
from cwparity.stack.moto import moto_argv


def test_parts_are_names_and_unknown_ones_are_named():
    assert parse_parts("parity, hosts,parity") == ("parity", "hosts")
    with pytest.raises(ValueError, match=r"unknown part 'hostz': choose from parity, hosts"):
        parse_parts("hostz")
    with pytest.raises(ValueError):
        parse_parts(" , ")


def test_each_part_is_a_marker_expression_over_the_suites_markers():
    assert marker_expression(["parity"]) == "(parity)"
    # the host part: the host suite and Prometheus's security, not Grafana's
    assert marker_expression(["hosts"]) == "(host or (security and not grafana))"
    assert (
        marker_expression(["hosts", "grafana"])
        == "(host or (security and not grafana)) or (grafana)"
    )


def test_a_part_asked_for_by_name_must_be_on_in_the_config():
    config = parse_config({})
    with pytest.raises(ConfigError) as caught:
        require(["hosts"], config, "my.yaml")
    assert str(caught.value) == (
        "my.yaml: the hosts checks are off: hosts.enabled is false (set it, and hosts.host)"
    )
    require(["parity"], config, "my.yaml")  # needs nothing from the config
    on = parse_config({"hosts": {"enabled": True}, "grafana": {"enabled": True, "url": "http://g"}})
    require(list(PARTS), on, "my.yaml")


@pytest.mark.parametrize("command", ["demo", "run", "hosts", "grafana", "report", "validate"])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "example:\n  cwparity " + command in text


def test_the_top_level_help_reads_as_a_user_guide(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert text.splitlines()[2].startswith("cwparity: proof, before you cut over")
    assert "parse, call one flow" not in text
    for command in ("demo", "run", "hosts", "grafana", "report", "validate"):
        assert f"  cwparity {command} " in text
    assert "pytest --pyargs cwparity.suites --cwparity-config" in text


def test_an_unknown_part_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["run", "--config", "x.yaml", "--only", "parity,dashboards"])
    assert done.value.code == 2
    assert "unknown part 'dashboards'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11-24T10:00:00Z:2026-11-24T11:00:00Z", "10:00", "11:00"),
        ("2026-11-24T10:00:00+00:00:2026-11-24T11:00:30+00:00", "10:00", "11:01"),
        ("2026-11-24T10:00:00Z/2026-11-24T11:00:00Z", "10:00", "11:00"),
        ("1795514400:1795518000", "10:00", "11:00"),
    ],
)
def test_the_window_option_takes_iso_times_with_their_colons(text, start, end):
    window = window_option(text, 60)
    assert window.start.strftime("%H:%M") == start and window.end.strftime("%H:%M") == end
    assert window.start.date().isoformat() == "2026-11-24"


@pytest.mark.parametrize(
    "text", ["now", "yesterday:today", "2026-11-24T11:00:00Z:2026-11-24T10:00:00Z"]
)
def test_a_window_option_that_is_not_a_window_is_one_line(text):
    with pytest.raises(ConfigError) as caught:
        window_option(text, 60)
    assert "\n" not in str(caught.value)


def test_relative_windows_and_the_recent_default():
    window = window_option("now-30m:now", 60)
    assert 30 * 60 <= window.seconds <= 32 * 60
    now = datetime(2026, 11, 24, 10, 7, 30, tzinfo=UTC)
    recent = recent_window(60, now)
    assert (recent.start.isoformat(), recent.end.isoformat()) == (
        "2026-11-24T09:52:00+00:00",
        "2026-11-24T10:07:00+00:00",
    )
    assert recent_window(3600, now).seconds == 3600  # at least one whole period


def test_the_shipped_folders_are_found_through_the_package():
    assert (paths.SUITES_DIR / "test_parity.py").is_file()
    assert (paths.SUITES_DIR / "__init__.py").is_file()
    assert paths.LOCUSTFILE.is_file()
    assert (paths.APPS_DIR / "dual_app.py").is_file()
    assert (paths.CONFIGS_DIR / "demo.yaml").is_file()
    assert (paths.HOSTS_DIR / "make-guide-host.sh").is_file()
    assert paths.GRAFANA_STANDIN.is_file()


def test_moto_is_the_one_of_cwparitys_own_environment():
    argv = moto_argv(4567)
    assert argv[:3] == [sys.executable, "-m", "moto.server"]
    assert argv[-4:] == ["-H", "127.0.0.1", "-p", "4567"]


def given_options(**given: object) -> SimpleNamespace:
    defaults = {"hosts": None, "connection": None, "ssh_config": None, "ssh_identity_file": None}
    return SimpleNamespace(option=SimpleNamespace(**{**defaults, "sudo": False, **given}))


def test_testinfra_options_replace_the_configs_host():
    config = parse_config({"hosts": {"enabled": True, "host": "local://"}})
    assert with_testinfra_options(config, given_options()) is config
    same = with_testinfra_options(config, given_options(hosts="ssh://ops@203.0.113.10"))
    assert same.hosts.host == "ssh://ops@203.0.113.10" and same.hosts.enabled
    bare = with_testinfra_options(config, given_options(hosts="mon", ssh_config="~/cfg"))
    assert bare.hosts.host == "paramiko://mon"  # testinfra's default backend
    assert bare.hosts.ssh_config == "~/cfg"
    chosen = with_testinfra_options(config, given_options(hosts="mon", connection="ssh", sudo=True))
    assert chosen.hosts.host == "ssh://mon" and chosen.hosts.sudo
    with pytest.raises(ConfigError, match="cwparity checks one monitoring host"):
        with_testinfra_options(config, given_options(hosts="a,b"))
    with pytest.raises(ConfigError, match="expected a testinfra host spec"):
        with_testinfra_options(config, given_options(hosts="telnet://mon"))
