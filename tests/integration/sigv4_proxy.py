"""A TEST DOUBLE, not AWS: a loopback stand-in for Amazon Managed Service for Prometheus's front
door. It verifies every request's Signature Version 4 (service ``aps``) with botocore's own signer,
canonicalizing the request the way AWS documents it (query parameters decoded, then RFC 3986
encoded and sorted; only the headers the client says it signed), and forwards a request that
passes to a real Prometheus. A request that fails gets 403 with AWS's message.

docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
"""

from __future__ import annotations

import hmac
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<sig>[0-9a-f]+)"
)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


class SigV4VerifyingProxy:
    """``with SigV4VerifyingProxy(upstream, key, secret, region) as url:`` signs-or-403 on ``url``."""

    def __init__(self, upstream: str, access_key: str, secret_key: str, region: str) -> None:
        self.upstream = upstream
        self.credentials = {access_key: Credentials(access_key, secret_key)}
        self.region = region
        self.verified = 0
        self.refused: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.handle(self)

            def do_POST(self) -> None:
                proxy.handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        problem = self.verify(handler.command, handler.path, handler.headers, body)
        if problem:
            self.refused.append(problem)
            self.reply(handler, 403, b'{"message": "%s"}' % problem.encode(), "application/json")
            return
        self.verified += 1
        answer = requests.request(
            handler.command,
            f"{self.upstream}{handler.path}",
            data=body or None,
            headers={"Content-Type": handler.headers.get("Content-Type", "")} if body else {},
            timeout=10,
        )
        self.reply(handler, answer.status_code, answer.content, answer.headers.get("Content-Type"))

    @staticmethod
    def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str | None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind or "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def verify(self, method: str, path: str, headers: object, body: bytes) -> str | None:
        """None when the signature is AWS's for this request, else AWS's reason."""
        get = headers.get  # type: ignore[attr-defined]
        match = _AUTH.fullmatch(get("Authorization") or "")
        if match is None:
            return "Missing Authentication Token"
        credentials = self.credentials.get(match["key"])
        if credentials is None:
            return "The security token included in the request is invalid."
        if match["service"] != "aps" or match["region"] != self.region:
            return f"Credential should be scoped to a valid region and service aps, not {match['region']}/{match['service']}."
        stamp = get("X-Amz-Date") or ""
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "Missing or malformed X-Amz-Date"
        if abs((datetime.now(UTC) - signed_at).total_seconds()) > 300 or stamp[:8] != match["date"]:
            return "Signature expired or the date does not match the credential scope"
        signed = match["signed"].split(";")
        parts = urlsplit(path)
        request = AWSRequest(
            method,
            f"http://{get('Host')}{parts.path}",
            data=body,
            headers={name: get(name) or "" for name in signed},
        )
        request.params = parse_qsl(parts.query, keep_blank_values=True)  # AWS's canonical query
        request.context["timestamp"] = stamp
        signer = SigV4Auth(credentials, "aps", self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
            return MISMATCH
        return None if hmac.compare_digest(expected, match["sig"]) else MISMATCH
