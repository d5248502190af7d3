"""Config sections for reaching Prometheus as users run it: TLS (`prometheus.tls`) and SigV4
(`prometheus.sigv4`, Amazon Managed Service for Prometheus).

The TLS keys are named as in Prometheus's own ``tls_config``. No secret is literal here: SigV4
credentials come from boto3's chain (environment, ``~/.aws`` profiles, instance roles), a private
key is a file the user keeps. Every key is documented in README.md ("Configuration reference").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from cwparity.config_values import aws_region


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PrometheusTLS(_Strict):
    """How the server's certificate is trusted, and the client certificate for mTLS."""

    #: the CA bundle (PEM) that signed Prometheus's certificate; default: the system's trust store
    ca_file: str | None = None
    #: client certificate and its private key (PEM), for a Prometheus that requires them
    cert_file: str | None = None
    key_file: str | None = None
    #: the name the certificate must carry (and SNI), when it differs from the URL's host
    server_name: str | None = None

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> PrometheusTLS:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(
                "give both cert_file and key_file (the client certificate and its key)"
            )
        return self


class SigV4(_Strict):
    """Sign every request with AWS Signature Version 4 for the ``aps`` service (Amazon Managed
    Service for Prometheus); credentials from boto3's chain, optionally as an assumed role."""

    #: the workspace's region; default: the AWS profile's or environment's region
    region: Annotated[str, AfterValidator(aws_region)] | None = None
    #: an AWS profile from ~/.aws (default: boto3's chain)
    profile: str | None = None
    #: a role to assume (with the profile's or the chain's credentials) before signing
    role_arn: str | None = None
