"""Checks of single config values that several config sections share (URLs, names, PromQL).

Each raises ``ValueError`` with a message that never repeats the value: the caller's error line
names the key and shows the value masked (a URL may carry ``user:password@``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import promql_parser
from pydantic import AfterValidator

_HTTP_SCHEMES = ("http", "https")
#: RFC 9110's token: what an HTTP method may be made of (no space, never empty)
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Prometheus's metric and label names (the classic character set every version accepts)
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: a run folder is "<timestamp>-<name>": most file systems allow 255 bytes a name
MAX_NAME_BYTES = 200


def http_url(url: str) -> str:
    """An ``http(s)://host[:port]`` URL that requests can open, without a trailing slash."""
    if _has_control(url) or any(char.isspace() for char in url):
        raise ValueError("a URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"not a URL: {_url_problem(err)}") from None
    if parts.scheme.lower() not in _HTTP_SCHEMES:
        raise ValueError("must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if port is not None and not 0 < port < 65536:
        raise ValueError("the port must be 1 to 65535")
    return url.rstrip("/")


def _url_problem(err: ValueError) -> str:
    text = str(err)
    if "IPv6" in text:
        return "an unclosed or invalid [IPv6] address"
    if "Port" in text or "port" in text:
        return "the port must be a number from 1 to 65535"
    return "it cannot be parsed"


HttpUrl = Annotated[str, AfterValidator(http_url)]


#: botocore's own check of a region name (botocore.utils.validate_region_name): a host label
_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")


def aws_region(region: str) -> str:
    if not _REGION.fullmatch(region):
        raise ValueError("not an AWS region name such as eu-west-1")
    return region


def cloudwatch_name(name: str, longest: int = 255) -> str:
    """A namespace, metric or dimension name or value as CloudWatch's API takes it: 1 to 255
    (a dimension value: 1,024) ASCII characters, not only spaces, no control characters."""
    if not name.strip() or not name.isascii() or _has_control(name) or len(name) > longest:
        raise ValueError(f"CloudWatch takes 1 to {longest} ASCII characters, no control characters")
    return name


def cloudwatch_value(value: str) -> str:
    return cloudwatch_name(value, longest=1024)


def http_method(method: str) -> str:
    if not _METHOD.fullmatch(method):
        raise ValueError("an HTTP method is one word of letters such as GET or POST")
    return method.upper()


def run_name(name: str) -> str:
    """A name that can be part of the run folder's name: one path component, printable."""
    if not name.strip() or name in (".", ".."):
        raise ValueError("give the run a name")
    if "/" in name or "\\" in name or _has_control(name):
        raise ValueError("the name is part of a folder name: no /, \\ or control characters")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise ValueError(f"longer than {MAX_NAME_BYTES} bytes: the run folder's name would be too")
    return name


def metric_name(name: str) -> str:
    if not METRIC_NAME.fullmatch(name):
        raise ValueError("not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    return name


def label_name(name: str) -> str:
    if not LABEL_NAME.fullmatch(name):
        raise ValueError("not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


def label_value(value: str) -> str:
    """A value put between double quotes in PromQL selectors (a job name) as it is."""
    if '"' in value or "\\" in value or _has_control(value):
        raise ValueError('must not contain ", \\ or control characters (it goes into selectors)')
    return value


def matchers(selector: str) -> str:
    """Extra label matchers such as ``env="prod",region=~"eu-.*"`` that PromQL can parse."""
    inner = selector.strip().strip("{}")
    if not inner:
        return selector
    try:
        parsed = promql_parser.parse(f"up{{{inner}}}")
    except ValueError:
        raise ValueError('not PromQL label matchers such as env="prod",region=~"eu-.*"') from None
    if not isinstance(parsed, promql_parser.VectorSelector):
        raise ValueError('only label matchers, such as env="prod"')
    return selector


def promql(expr: str) -> str:
    try:
        promql_parser.parse(expr)
    except ValueError as err:
        problem = " ".join(str(err).split())[:200] or "invalid PromQL"
        raise ValueError(f"the query does not parse: {problem}") from None
    return expr


#: kernel file systems: a folder there exists but no report can be written into it
_VIRTUAL = (Path("/proc"), Path("/sys"), Path("/dev"))


def output_folder(folder: str) -> str:
    """A folder the run folders can be created in: it exists and is writable, or can be made."""
    if not folder.strip() or _has_control(folder):
        raise ValueError("give a folder for the reports")
    if any(len(part.encode()) > 255 for part in Path(folder).parts):
        raise ValueError("a part of the path is longer than 255 bytes")
    try:
        resolved = Path(folder).resolve()
    except (OSError, RuntimeError):
        raise ValueError("the path cannot be resolved (a symlink loop?)") from None
    if any(resolved == top or top in resolved.parents for top in _VIRTUAL):
        raise ValueError("a kernel file system (/proc, /sys, /dev) cannot hold reports")
    existing = next(p for p in (resolved, *resolved.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{existing} is not writable")
    return folder


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf") for char in text)
