import json

import pytest

from cwparity.config import load_config, parse_config, parse_duration, redact_url
from cwparity.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "cwparity.yaml"
    path.write_text(text)
    return path


def test_defaults_follow_the_guide():
    config = parse_config({})
    assert config.cloudwatch.metric_name == "EndpointLatency"
    assert config.prometheus.job == "flask_app"
    assert config.prometheus.histogram == "flask_http_request_duration_seconds"
    assert [r.key for r in config.routes] == ["GET /", "GET /long-request"]


def test_unknown_key_names_file_key_and_nearest_valid_key(tmp_path):
    path = write(tmp_path, "prometheus:\n  urll: http://x:9090\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "'prometheus.urll'" in message
    assert "did you mean 'prometheus.url'" in message
    assert "\n" not in message


def test_bad_value_names_key_and_value(tmp_path):
    path = write(tmp_path, "load:\n  users: lots\n")
    with pytest.raises(ConfigError, match=r"key 'load.users' = 'lots'"):
        load_config(path)


def test_bad_period_is_explained():
    with pytest.raises(ConfigError, match="1, 5, 10, 30 or a multiple of 60"):
        parse_config({"window": {"period": 45}})


def test_a_settle_deadline_shorter_than_min_age_plus_quiet_is_refused():
    with pytest.raises(ConfigError, match=r"settle_timeout \(60s\) is shorter than"):
        parse_config({"window": {"settle_timeout": "60s"}})  # defaults: 120 s + 60 s
    window = parse_config(
        {"window": {"settle_timeout": "60s", "settle_min_age": "10s", "settle_quiet": "20s"}}
    ).window
    assert (window.settle_min_age, window.settle_quiet) == (10.0, 20.0)


def test_settle_defaults_are_for_real_aws():
    window = parse_config({}).window
    assert (window.settle_min_age, window.settle_quiet, window.settle_timeout) == (120, 60, 600)


def test_unknown_key_in_a_list_item():
    with pytest.raises(ConfigError, match=r"routes.0.pth'.*did you mean 'routes.0.path'"):
        parse_config({"routes": [{"pth": "/"}]})


def test_missing_file_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"cwparity.yaml: line \d+: "):
        load_config(write(tmp_path, "a: 1\nb: [unclosed\n"))


def test_secrets_never_appear_in_the_redacted_config_or_errors():
    config = parse_config(
        {
            "prometheus": {
                "url": "https://admin:hunter2@prom.example:9090",
                "basic_auth": {"username": "u", "password": "s3cret"},
                "bearer_token": "tok-123",
            }
        }
    )
    dumped = str(config.redacted())
    for secret in ("hunter2", "s3cret", "tok-123"):
        assert secret not in dumped
    assert "***@prom.example" in dumped
    with pytest.raises(ConfigError) as err:
        parse_config({"prometheus": {"basic_auth": {"username": "u", "password": 5, "x": 1}}})
    assert "5" not in str(err.value).split("'")[-1] or "***" in str(err.value)


def test_password_from_environment(monkeypatch):
    config = parse_config({"prometheus": {"basic_auth": {"username": "u", "password_env": "PW"}}})
    monkeypatch.setenv("PW", "from-env")
    assert config.prometheus.basic_auth.resolved_password() == "from-env"
    monkeypatch.delenv("PW")
    with pytest.raises(ConfigError, match="PW is not set"):
        config.prometheus.basic_auth.resolved_password()


def test_durations():
    assert parse_duration("30s") == 30
    assert parse_duration("2m") == 120
    assert parse_duration("500ms") == 0.5
    assert parse_duration(15) == 15
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_redact_url():
    assert (
        redact_url("see http://u:p@h:1/x and https://tok@h2")
        == "see http://***@h:1/x and https://***@h2"
    )
    assert redact_url("http://h:9090") == "http://h:9090"


def test_digest_is_stable_and_hides_secrets():
    a = parse_config({"prometheus": {"bearer_token": "one"}})
    b = parse_config({"prometheus": {"bearer_token": "two"}})
    assert a.digest() == b.digest()
    assert a.digest() != parse_config({"name": "other"}).digest()


def test_redact_masks_urls_and_secret_keys_anywhere_in_a_record():
    from cwparity.config import redact

    record = {
        "truth": {"routes": [{"target": "http://ops:hunter2@app:8080", "route": "GET /"}]},
        "load_stats": [{"name": "GET / @ https://u:p4ss@new:8080"}],
        "meta": {"grafana_password": "admin", "password_env": "GRAFANA_PASSWORD"},
    }
    text = str(redact(record))
    for secret in ("hunter2", "p4ss", "'admin'"):
        assert secret not in text
    assert "http://***@app:8080" in text and "GRAFANA_PASSWORD" in text


def test_distributed_load_keys(tmp_path):
    config = parse_config({"load": {"workers": 2}})
    assert config.load.distributed and config.load.master_bind is None
    remote = parse_config({"load": {"remote_workers": 3, "master_bind": "[::1]:5557"}})
    assert remote.load.distributed and remote.load.workers == 0
    assert not parse_config({}).load.distributed
    path = write(tmp_path, "load:\n  master_bind: '10.0.0.5'\n")
    with pytest.raises(ConfigError, match=r"load.master_bind' = '10.0.0.5'.*HOST:PORT") as err:
        load_config(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"load\.remote_workers needs load\.master_bind"):
        parse_config({"load": {"remote_workers": 1}})
    with pytest.raises(ConfigError, match=r"load\.workers"):
        parse_config({"load": {"workers": -1}})


def test_redact_url_hides_a_password_with_a_raw_at_sign_and_keeps_the_address():
    from cwparity.redact import public_url, redact_url

    assert redact_url("GET http://u:p@ss@h:1/x?q=a@b") == "GET http://***@h:1/x?q=a@b"
    assert public_url("http://u:p%40ss@[::1]:9090/p") == "http://[::1]:9090/p"
    assert public_url("http://h:9090") == "http://h:9090"
    assert public_url("http://u:p@[::1") == "http://[::1"  # not splittable: still no secret


def test_load_hands_credentials_to_locust_outside_its_command_line(tmp_path):
    from cwparity.config import LoadConfig, Route
    from cwparity.load import PLAN_VARIABLES, credentials_env, locust_argv, locust_env

    targets = ["http://old:Pa55!word@127.0.0.1:8080", "http://127.0.0.1:8081"]
    env = locust_env(LoadConfig(), [Route(path="/")], targets, tmp_path / "truth.json")
    argv = locust_argv(LoadConfig(), "http://127.0.0.1:8080", tmp_path)
    assert "Pa55" not in " ".join(argv) + env["CWPARITY_TARGETS"]
    secret = credentials_env(targets)
    assert json.loads(secret["CWPARITY_CREDENTIALS"]) == {"http://127.0.0.1:8080": targets[0]}
    assert credentials_env(targets[1:]) == {}
    assert "CWPARITY_CREDENTIALS" in PLAN_VARIABLES  # local workers get it from the master


def test_config_errors_name_the_key_and_mask_every_secret(tmp_path):
    cases = {
        "prometheus:\n  basic_auth: {username: u, password: Inl1neS3cret, password_env: PW}\n": (
            "prometheus.basic_auth",
            "Inl1neS3cret",
        ),
        "prometheus:\n  url: 'http://promuser:PromPass123@127.0.0.1:99999'\n": (
            "prometheus.url",
            "PromPass123",
        ),
        # an unencoded @ in the password: masked up to the authority's last @
        "app:\n  base_url: 'http://appuser:App@Pass@[::1'\n": ("app.base_url", "Pass"),
        "prometheus:\n  bearer_token: Tok3nValue\n  bearer_token_env: T\n": (
            "prometheus.bearer_token_env",
            "Tok3nValue",
        ),
    }
    for text, (key, secret) in cases.items():
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, text))
        message = str(err.value)
        assert f"key '{key}'" in message and secret not in message, message


def test_a_basic_auth_error_shows_the_keys_but_not_the_password(tmp_path):
    text = "prometheus:\n  basic_auth: {username: u, password: Inl1neS3cret, password_env: PW}\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert "'password': '***'" in str(err.value) and "'username': 'u'" in str(err.value)


def test_an_error_line_is_short_whatever_the_value(tmp_path):
    huge = {"routes": [{"path": "/", "method": "GET /" + "x" * 100_000}]}
    with pytest.raises(ConfigError) as err:
        parse_config(huge)
    assert len(str(err.value)) < 400 and "…" in str(err.value)
    nested = {"cloudwatch": {"extra_dimensions": {"a": [[["deep"] * 1000] * 1000]}}}
    with pytest.raises(ConfigError) as err:
        parse_config(nested)
    assert len(str(err.value)) < 400


def test_duplicate_keys_are_refused_not_overwritten(tmp_path):
    path = write(tmp_path, "prometheus:\n  url: http://a:9090\n  url: http://b:9090\n")
    with pytest.raises(ConfigError, match=r"key 'prometheus.url': given twice \(again on line 3\)"):
        load_config(path)
    # a merge key is not a duplicate: YAML says the mapping's own keys win
    merged = write(tmp_path, "base: &b {period: 60}\nwindow:\n  <<: *b\n  period: 300\n")
    with pytest.raises(ConfigError, match="unknown key 'base'"):
        load_config(merged)


def test_valid_urls_and_durations_still_load():
    config = parse_config(
        {
            "prometheus": {
                "url": "https://u:p@prom.example:9090/prefix/",
                "scrape_interval": "15s",
            },
            "app": {"base_url": "http://[::1]:8080"},
            "cloudwatch": {"endpoint_url": "http://127.0.0.1:5000", "region": "eu-west-1"},
            "grafana": {"url": "https://grafana.example"},
            "targets": {
                "cloudwatch": {"base_url": "http://old:80", "traffic_share": 0.25},
                "prometheus": {"base_url": "http://new:80", "traffic_share": 0.75},
            },
            "routes": [{"path": "/x", "method": "purge"}],
            "load": {"wait_min": 0, "duration": "1m"},
        }
    )
    assert config.prometheus.url == "https://u:p@prom.example:9090/prefix"
    assert config.routes[0].method == "PURGE" and config.load.duration == 60


def test_a_run_refuses_a_report_folder_it_cannot_create(tmp_path):
    from cwparity.flows import new_run_dir

    blocker = tmp_path / "file"
    blocker.write_text("")
    config = parse_config({"report": {"output_dir": str(tmp_path)}})
    with pytest.raises(ConfigError, match=r"^--out: cannot create .*Not a directory"):
        new_run_dir(config, blocker)


def test_validate_checks_the_files_a_config_names(tmp_path, capsys):
    from cwparity import cli

    cases = {
        "prometheus:\n  tls: {ca_file: nope.pem}\n": "key 'prometheus.tls.ca_file'",
        "cost:\n  price_table: nope.yaml\n": "cost.price_table: nope.yaml: file not found",
        "alarms:\n  enabled: true\n  rules_files: [nope.yml]\n": "alarms.rules_files: ",
    }
    for text, expected in cases.items():
        path = write(tmp_path, f"report: {{output_dir: {tmp_path}}}\n{text}")
        assert cli.main(["validate", "--config", str(path)]) == 2
        assert expected in capsys.readouterr().err


def test_validate_exits_1_when_lint_fails_a_query(tmp_path, capsys):
    from cwparity import cli

    rate = "rate(flask_http_request_duration_seconds_count[5m])"
    text = f"lint: {{severity: fail}}\nprometheus:\n  queries: [{{name: q, expr: '{rate}'}}]\n"
    path = write(tmp_path, f"report: {{output_dir: {tmp_path}}}\n{text}")
    assert cli.main(["validate", "--config", str(path)]) == 1
    assert "FAIL" in capsys.readouterr().out
    path = write(tmp_path, f"report: {{output_dir: {tmp_path}}}\n")
    assert cli.main(["validate", "--config", str(path)]) == 0
