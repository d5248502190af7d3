"""How cwparity talks to Prometheus, without a server: the session each auth key makes, SigV4's
signed headers (an assumed role through botocore's Stubber), and the one-line failures."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
import requests
from botocore.credentials import Credentials
from botocore.stub import Stubber

from cwparity.config import parse_config
from cwparity.errors import ConfigError
from cwparity.sources.prometheus_http import (
    ServerNameAdapter,
    SigV4Signer,
    assumed_role,
    canonical_url,
    describe_failure,
    prometheus_session,
    refused,
)


def prometheus(**keys: object):
    return parse_config({"prometheus": {"url": "https://prom.example:9090", **keys}}).prometheus


@pytest.fixture
def pem(tmp_path):
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("PEM")
    return tmp_path


def test_tls_keys_make_the_session_trust_the_ca_and_present_the_client_certificate(pem):
    tls = {
        "ca_file": str(pem / "ca.pem"),
        "cert_file": str(pem / "client.pem"),
        "key_file": str(pem / "client.key"),
        "server_name": "prometheus.internal",
    }
    session = prometheus_session(prometheus(tls=tls))
    assert session.verify == str(pem / "ca.pem")
    assert session.cert == (str(pem / "client.pem"), str(pem / "client.key"))
    adapter = session.get_adapter("https://prom.example:9090/api/v1/query")
    assert isinstance(adapter, ServerNameAdapter) and adapter.server_name == "prometheus.internal"
    # without auth: the same trust, but no client certificate
    anonymous = prometheus_session(prometheus(tls=tls), with_auth=False)
    assert anonymous.verify == str(pem / "ca.pem") and anonymous.cert is None


def test_the_configured_ca_wins_over_requests_ca_bundle(pem, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = prometheus_session(prometheus(tls={"ca_file": str(pem / "ca.pem")}))
    settings = session.merge_environment_settings("https://prom.example:9090", {}, None, None, None)
    assert settings["verify"] == str(pem / "ca.pem")
    plain = requests.Session()  # the twin: what requests does by itself
    plain.verify = str(pem / "ca.pem")
    bundle = plain.merge_environment_settings("https://x", {}, None, None, None)["verify"]
    assert bundle == "/etc/ssl/certs/ca-certificates.crt"
    off = prometheus_session(prometheus(verify_tls=False))
    assert off.merge_environment_settings("https://x", {}, None, None, None)["verify"] is False


def test_a_missing_tls_file_names_its_key(tmp_path):
    with pytest.raises(ConfigError, match=r"prometheus.tls.cert_file = '.*c.pem': file not found"):
        prometheus_session(
            prometheus(tls={"cert_file": str(tmp_path / "c.pem"), "key_file": str(tmp_path / "k")})
        )


def test_tls_and_sigv4_mistakes_in_the_config_are_one_line():
    for keys, message in (
        ({"tls": {"cert_file": "c.pem"}}, "give both cert_file and key_file"),
        ({"tls": {"ca_file": "ca.pem"}, "verify_tls": False}, "the CA would never be used"),
        ({"sigv4": {"region": "eu-west-1"}, "bearer_token_env": "T"}, "remove bearer_token_env"),
        ({"sigv4": {"regoin": "eu-west-1"}}, "did you mean 'prometheus.sigv4.region'"),
    ):
        with pytest.raises(ConfigError, match=message) as caught:
            parse_config({"prometheus": keys}, source="my.yaml")
        assert "\n" not in str(caught.value)


def test_the_sigv4_query_is_encoded_as_aws_canonicalizes_it():
    url = "https://aps.example/api/v1/query?query=sum+by+%28job%29+%28up%29&time=1.5"
    assert canonical_url(url) == (
        "https://aps.example/api/v1/query?query=sum%20by%20%28job%29%20%28up%29&time=1.5"
    )
    assert canonical_url("https://aps.example/api/v1/status/buildinfo").endswith("/buildinfo")


def signed(signer: SigV4Signer, url: str) -> requests.PreparedRequest:
    return signer(requests.Request("GET", url, params={"query": "sum by (job) (up)"}).prepare())


def test_sigv4_signs_host_and_date_for_aps_in_the_region():
    signer = SigV4Signer(Credentials("AKIDEXAMPLE", "secret", "session-token"), "eu-west-1")
    request = signed(
        signer, "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/query"
    )
    auth = request.headers["Authorization"]
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    assert auth.startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{today}/eu-west-1/aps/aws4_request"
    )
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token" in auth
    assert request.headers["X-Amz-Security-Token"] == "session-token"
    assert "%20by%20" in str(request.url)
    other = signed(SigV4Signer(Credentials("AKIDEXAMPLE", "other"), "eu-west-1"), str(request.url))
    assert other.headers["Authorization"].split("Signature=")[1] != auth.split("Signature=")[1]


def test_sigv4_with_role_arn_signs_with_the_assumed_role(monkeypatch):
    """role_arn: botocore's AssumeRoleCredentialFetcher, the STS call answered by a Stubber."""
    sts = botocore.session.get_session().create_client(
        "sts", region_name="eu-west-1", aws_access_key_id="AKIDSOURCE", aws_secret_access_key="s"
    )
    stub = Stubber(sts)
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAASSUMEDROLEKEY",
                "SecretAccessKey": "assumed-secret",
                "SessionToken": "assumed-token",
                "Expiration": expires,
            }
        },
        {"RoleArn": "arn:aws:iam::123456789012:role/amp-query", "RoleSessionName": "cwparity"},
    )
    stub.activate()
    credentials = assumed_role(
        Credentials("AKIDSOURCE", "s"),
        "arn:aws:iam::123456789012:role/amp-query",
        lambda *a, **k: sts,
    )
    request = signed(SigV4Signer(credentials, "eu-west-1"), "https://aps.example/api/v1/query")
    assert "Credential=ASIAASSUMEDROLEKEY/" in request.headers["Authorization"]
    assert request.headers["X-Amz-Security-Token"] == "assumed-token"
    stub.assert_no_pending_responses()


def test_sigv4_needs_credentials_and_a_region(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match=r"prometheus\.sigv4\.region: not set"):
        prometheus_session(prometheus(sigv4={}))
    with pytest.raises(ConfigError, match="no AWS credentials found"):
        prometheus_session(prometheus(sigv4={"region": "eu-west-1"}))
    with pytest.raises(
        ConfigError, match=r"prometheus\.sigv4\.profile = 'nope': no such AWS profile"
    ):
        prometheus_session(prometheus(sigv4={"region": "eu-west-1", "profile": "nope"}))


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            "HTTPSConnectionPool(host='p', port=9090): Max retries exceeded (Caused by SSLError("
            "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: self-signed certificate in certificate chain (_ssl.c:1006)')))",
            "TLS: certificate verify failed: self-signed certificate in certificate chain "
            "(check prometheus.tls.ca_file)",
        ),
        (
            "(Caused by SSLError(SSLError(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 "
            "alert certificate required (_ssl.c:2580)')))",
            "TLS: tlsv13 alert certificate required (check prometheus.tls.cert_file and key_file)",
        ),
        (
            "HTTPConnectionPool(host='u:pw@p', port=1): Max retries exceeded (NewConnectionError"
            "('Connection refused'))",
            "connection refused",
        ),
    ],
)
def test_failures_are_one_line_naming_the_key(error, line):
    assert describe_failure(requests.exceptions.ConnectionError(error)) == line


def test_a_refusal_says_the_servers_words_and_the_auth_keys():
    body = '{"message": "The request signature we calculated does not match"}'
    assert refused(403, body, prometheus(sigv4={"region": "eu-west-1"})) == (
        "HTTP 403: The request signature we calculated does not match "
        "(check prometheus.sigv4 and its AWS credentials)"
    )
    assert refused(401, "Unauthorized\n", prometheus()) == (
        "HTTP 401: Unauthorized (check the prometheus auth settings: none are configured)"
    )


def test_credentials_in_the_url_are_sent_with_auth_and_never_without():
    prometheus = parse_config(
        {"prometheus": {"url": "http://u:Url!Pass@127.0.0.1:9090"}}
    ).prometheus

    def authorization(session: requests.Session) -> str | None:
        request = requests.Request("GET", f"{prometheus.url}/api/v1/query")
        return session.prepare_request(request).headers.get("Authorization")

    assert authorization(prometheus_session(prometheus)) == "Basic dTpVcmwhUGFzcw=="  # u:Url!Pass
    assert authorization(prometheus_session(prometheus, with_auth=False)) is None


def test_a_bearer_token_wins_over_credentials_in_the_url():
    config = {"url": "http://u:Url!Pass@127.0.0.1:9090", "bearer_token": "tok-1"}
    prometheus = parse_config({"prometheus": config}).prometheus
    request = requests.Request("GET", f"{prometheus.url}/api/v1/query")
    prepared = prometheus_session(prometheus).prepare_request(request)
    assert prepared.headers["Authorization"] == "Bearer tok-1"
