"""Prometheus auth as users have it, against real servers: Prometheus's own ``--web.config.file``
serving TLS (a CA file; a server name) and mTLS (``client_ca_file``,
RequireAndVerifyClientCert), and SigV4 through a verifying proxy (tests/integration/sigv4_proxy.py,
a test double of Amazon Managed Service for Prometheus that checks each signature with botocore's
own signer). Each passes when set up right and fails in one line when not: a wrong CA, a missing
client certificate, a bad signature. The certificates are made here, with ``cryptography``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from cwparity.config import RunConfig, parse_config
from cwparity.errors import ConfigError, SourceError
from cwparity.hosts.security import check_prometheus_auth
from cwparity.results import Status
from cwparity.sources.prometheus import PrometheusSource
from cwparity.stack.process import ManagedProcess
from cwparity.stack.prometheus import start_prometheus

from .sigv4_proxy import SigV4VerifyingProxy

x509 = pytest.importorskip("cryptography.x509", reason="the test extra: pip install cryptography")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

pytestmark = pytest.mark.integration

SERVER_NAME = "prometheus.test"  # the mTLS server's certificate names only this
KEY_ID, SECRET = "AKIDCWPARITYTEST", "cwparity-test-secret-key"


@dataclass
class Pem:
    cert: Path
    key: Path


class Authority:
    """A CA that signs certificates for the servers and the client, written as PEM files."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.subject = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"cwparity test CA {name}")]
        )
        self.cert = (
            self._builder(self.subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.file = folder / f"{name}-ca.pem"
        self.file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject: x509.Name, public_key: object) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
        )

    def issue(self, name: str, names: list[x509.GeneralName] | None = None) -> Pem:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = self._builder(subject, key.public_key())
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        pem = Pem(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pem.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pem


def tls_prometheus(folder: Path, server: Pem, client_ca: Path | None) -> tuple[ManagedProcess, str]:
    """The real Prometheus behind its own web config: TLS, and client certificates if asked."""
    folder.mkdir()
    tls: dict[str, str] = {"cert_file": str(server.cert), "key_file": str(server.key)}
    if client_ca is not None:
        tls |= {"client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": str(client_ca)}
    web = folder / "web.yml"
    web.write_text(yaml.safe_dump({"tls_server_config": tls}))
    return start_prometheus(folder, [], "flask_app", 1.0, web, ready=serves_tls)


def serves_tls(url: str) -> bool:
    """Ready: the port answers a TLS handshake (mTLS turns it away: TLS is up all the same).
    A port not yet listening raises, and the readiness wait tries again."""
    with contextlib.suppress(requests.exceptions.SSLError):
        requests.get(url.replace("http://", "https://") + "/-/ready", verify=False, timeout=1)
    return True


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = Authority(folder, "ours"), Authority(folder, "other")
    return {
        "ca": ca,
        "other": other,
        "server": ca.issue("server", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        "named": ca.issue("named", [x509.DNSName(SERVER_NAME)]),
        "client": ca.issue("client"),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def tls_url(pki) -> Iterator[str]:
    process, url = tls_prometheus(pki["folder"] / "tls", pki["server"], None)
    with process:
        yield url.replace("http://", "https://")


@pytest.fixture(scope="module")
def mtls_url(pki) -> Iterator[str]:
    process, url = tls_prometheus(pki["folder"] / "mtls", pki["named"], pki["ca"].file)
    with process:
        yield url.replace("http://", "https://")


def config(url: str, **prometheus: object) -> RunConfig:
    return parse_config({"prometheus": {"url": url, **prometheus}})


def one_line_failure(config: RunConfig) -> str:
    with pytest.raises(SourceError) as caught:
        PrometheusSource(config.prometheus).build_info()
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_tls_with_the_ca_file_passes(pki, tls_url):
    source = PrometheusSource(config(tls_url, tls={"ca_file": str(pki["ca"].file)}).prometheus)
    assert source.build_info()["version"]
    assert source.client.custom_query("sum by (job) (up)") == []  # PromQL through the same TLS


def test_tls_with_a_wrong_ca_fails_in_one_line(pki, tls_url):
    message = one_line_failure(config(tls_url, tls={"ca_file": str(pki["other"].file)}))
    assert message == (
        f"Prometheus {tls_url}: TLS: certificate verify failed: unable to get local issuer "
        "certificate (check prometheus.tls.ca_file)"
    )


def test_a_wrong_ca_is_one_line_from_the_cli_too(pki, tls_url, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump({"prometheus": {"url": tls_url, "tls": {"ca_file": str(pki["other"].file)}}})
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cwparity.cli",
            "run",
            "--config",
            str(path),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"cwparity: error: Prometheus {tls_url}: TLS: certificate verify failed: unable to get "
        "local issuer certificate (check prometheus.tls.ca_file)"
    ]


def test_mtls_with_the_client_certificate_and_server_name_passes(pki, mtls_url):
    tls = {
        "ca_file": str(pki["ca"].file),
        "cert_file": str(pki["client"].cert),
        "key_file": str(pki["client"].key),
        "server_name": SERVER_NAME,
    }
    run_config = config(mtls_url, tls=tls)
    source = PrometheusSource(run_config.prometheus)
    assert source.build_info()["version"]
    assert source.client.custom_query("up") == []
    # the security check sees a Prometheus that turns away a client without a certificate
    auth = check_prometheus_auth(run_config)
    assert auth.status is Status.PASS and auth.reason.startswith("refused without a client")


def test_mtls_without_a_client_certificate_fails_in_one_line(pki, mtls_url):
    tls = {"ca_file": str(pki["ca"].file), "server_name": SERVER_NAME}
    message = one_line_failure(config(mtls_url, tls=tls))
    assert message.startswith(f"Prometheus {mtls_url}: TLS: ")
    assert message.endswith("(check prometheus.tls.cert_file and key_file)"), message


def test_a_certificate_for_another_name_fails_without_server_name(pki, mtls_url):
    tls = {
        "ca_file": str(pki["ca"].file),
        "cert_file": str(pki["client"].cert),
        "key_file": str(pki["client"].key),
    }
    message = one_line_failure(config(mtls_url, tls=tls))
    assert "mismatch, certificate is not valid for '127.0.0.1'" in message
    assert message.endswith("(check prometheus.tls.server_name)")


def test_a_missing_ca_file_is_a_config_error_naming_the_key(tls_url, tmp_path):
    with pytest.raises(ConfigError, match=r"prometheus.tls.ca_file = '.*nope.pem': file not found"):
        PrometheusSource(config(tls_url, tls={"ca_file": str(tmp_path / "nope.pem")}).prometheus)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Iterator[str]:
    process, url = start_prometheus(tmp_path_factory.mktemp("aps"), [], "flask_app", 1.0)
    with process:
        yield url


@pytest.fixture
def aws_env(monkeypatch, tmp_path) -> Path:
    """Only the credentials the test gives: no ~/.aws, no other AWS_* variable."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[cwparity-test]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    return credentials


def test_sigv4_passes_through_the_verifying_proxy(upstream, aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    proxy = SigV4VerifyingProxy(upstream, KEY_ID, SECRET, "eu-west-1")
    with proxy as url:
        source = PrometheusSource(config(url, sigv4={"region": "eu-west-1"}).prometheus)
        assert source.build_info()["version"]
        # a query with spaces and parentheses: signed in AWS's canonical encoding
        assert source.client.custom_query('sum by (job) (up{job="flask_app"})') == []
        assert source.api_get("/api/v1/targets", state="active") is not None
    assert proxy.verified == 3 and not proxy.refused


def test_sigv4_with_a_profile_passes(upstream, aws_env):
    with SigV4VerifyingProxy(upstream, KEY_ID, SECRET, "eu-west-1") as url:
        sigv4 = {"region": "eu-west-1", "profile": "cwparity-test"}
        assert PrometheusSource(config(url, sigv4=sigv4).prometheus).build_info()["version"]


def test_sigv4_with_a_bad_signature_fails_in_one_line(upstream, aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with SigV4VerifyingProxy(upstream, KEY_ID, SECRET, "eu-west-1") as url:
        message = one_line_failure(config(url, sigv4={"region": "eu-west-1"}))
    assert message.startswith(f"Prometheus {url}: HTTP 403: The request signature we calculated")
    assert message.endswith("(check prometheus.sigv4 and its AWS credentials)")
    assert "not-the-secret" not in message


def test_sigv4_signed_for_another_region_fails(upstream, aws_env):
    with SigV4VerifyingProxy(upstream, KEY_ID, SECRET, "eu-west-1") as url:
        sigv4 = {"region": "us-east-1", "profile": "cwparity-test"}
        message = one_line_failure(config(url, sigv4=sigv4))
    assert "HTTP 403: Credential should be scoped to a valid region" in message


def test_an_unsigned_request_is_refused_by_the_proxy(upstream):
    """The double's twin: it does refuse what is not signed (and a bare anonymous probe)."""
    with SigV4VerifyingProxy(upstream, KEY_ID, SECRET, "eu-west-1") as url:
        answer = requests.get(f"{url}/api/v1/status/buildinfo", timeout=5)
    assert answer.status_code == 403 and answer.json()["message"] == "Missing Authentication Token"
