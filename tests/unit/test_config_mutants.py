"""Malformed configs, as a hostile or careless user writes them: each one is refused with one line
that names the file and the key (exit 2), masks any secret, and comes back at once.

Every mutant goes through the CLI in-process (``cli.main``: the exit code and stderr a user sees);
a subset that covers each kind, and every one that could hang or blow up, runs as a subprocess
with a hard timeout, ``validate`` and ``run`` alike.
"""

from __future__ import annotations

import base64
import copy
import gzip
import random
import resource
import subprocess
import sys
import tracemalloc
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cwparity import cli
from cwparity.config import load_config
from cwparity.config_file import MAX_BYTES
from cwparity.errors import ConfigError

SECRET = "Inl1neS3cretValue"
#: stands for a path to an existing plain file (written by the ``mutant_file`` fixture)
A_FILE = "/@a-plain-file@"
PASSWORD = "Secr3tPass"


@dataclass(frozen=True)
class Mutant:
    id: str
    content: bytes
    #: the key the error line must name (None: the file itself is not YAML text)
    key: str | None
    #: strings that must never appear in the output
    secrets: tuple[str, ...] = ()


def base(tmp: str = "reports") -> dict:
    return {
        "name": "mutant",
        "prometheus": {"url": "http://127.0.0.1:9090", "job": "flask_app"},
        "app": {"base_url": "http://127.0.0.1:8080"},
        "routes": [{"path": "/", "method": "GET"}],
        "report": {"output_dir": tmp},
    }


def with_value(key: str, value: object, data: dict | None = None) -> dict:
    """The base config with ``key`` (dotted; digits index lists) set to ``value``."""
    data = copy.deepcopy(data or base())
    *parents, last = key.split(".")
    node: object = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})  # type: ignore[union-attr]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value  # type: ignore[index]
    return data


def as_yaml(data: dict) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def mutant(id: str, key: str, value: object, secrets: tuple[str, ...] = ()) -> Mutant:
    data = base()
    if key.startswith("targets."):
        url = "http://127.0.0.1:8081"
        data["targets"] = {"cloudwatch": {"base_url": url}, "prometheus": {"base_url": url}}
    return Mutant(id, as_yaml(with_value(key, value, data)), key, secrets)


# --- files that are not YAML text ----------------------------------------------------------------

GOOD = as_yaml(base())


def file_mutants() -> list[Mutant]:
    latin1 = "name: caf\u00e9\n".encode("latin-1")
    noise = random.Random(14).randbytes(4096)
    return [
        Mutant("gzip", gzip.compress(GOOD), None),
        Mutant("latin-1", latin1, None),
        Mutant("utf-16-le-bom", GOOD.decode().encode("utf-16"), None),
        Mutant("utf-16-be-bom", b"\xfe\xff" + GOOD.decode().encode("utf-16-be"), None),
        Mutant("utf-16-le-no-bom", GOOD.decode().encode("utf-16-le"), None),
        Mutant("nul-byte", GOOD[:10] + b"\0" + GOOD[10:], None),
        Mutant("random-binary", noise, None),
        Mutant("png", b"\x89PNG\r\n\x1a\n" + noise[:100], None),
        Mutant("elf", b"\x7fELF\x02\x01\x01" + noise[:100], None),
        Mutant("overlong-utf-8", b"name: \xc0\xaf\n", None),
        Mutant("surrogate-utf-8", b"name: \xed\xa0\x80\n", None),
        Mutant("truncated-utf-8", b"name: \xe2\x82\n", None),
        Mutant("too-large", b"# " + b"x" * MAX_BYTES + b"\n", None),
        Mutant("largest-with-a-bad-key-last", _largest(), "prometheus.url"),
        Mutant("unclosed-bracket", b"name: [unclosed\n", None),
        Mutant("tab-indent", b"prometheus:\n\turl: http://x\n", None),
        Mutant("two-documents", b"name: a\n---\nname: b\n", None),
        Mutant("top-level-list", b"- name: a\n", None),
        Mutant("top-level-scalar", b"just words\n", None),
        Mutant("python-tag", b"name: !!python/object/apply:os.system [id]\n", None),
        Mutant("bad-date", b"name: 2026-13-45\n", None),
        Mutant("huge-int", b"load:\n  users: " + b"9" * 5000 + b"\n", None),
        Mutant("undefined-alias", b"name: *nothing\n", None),
        Mutant("unhashable-key", b"? [a, b]\n: 1\n", None),
        Mutant("control-char", b"name: a\x07b\n", None),
    ]


def _largest() -> bytes:
    """As many routes as the size limit allows, and a mistake at the very end: the slowest
    file to refuse."""
    tail = b"prometheus:\n  url: http://127.0.0.1:0\n"
    route = b"  - path: /r%d\n    method: GET\n"
    lines, size, index = [b"routes:\n"], 8 + len(tail), 0
    while size + len(route % index) <= MAX_BYTES:
        lines.append(route % index)
        size, index = size + len(route % index), index + 1
    return b"".join(lines) + tail


# --- structure: depth, aliases, duplicate keys ----------------------------------------------------


def nested(key: str, depth: int, open_: str = "[", close: str = "]") -> bytes:
    return f"{key}: {open_ * depth}1{close * depth}\n".encode()


def bomb_inline(key: str, levels: int = 9) -> bytes:
    """A billion-laughs document with every anchor inside ``key``'s own value."""
    parts = ['&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        parts.append(f"&a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return bomb_at(key, "[" + ", ".join(parts) + "]")


def bomb_at(key: str, value: str) -> bytes:
    data = as_yaml(base()).decode()
    head, *rest = key.split(".")
    if head == "name":
        return data.replace("name: mutant", f"name: {value}").encode()
    if key == "routes.0.method":
        return data.replace("method: GET", f"method: {value}").encode()
    return (data + f"{head}:\n  {rest[0]}: {value}\n").encode()


def bomb_top(key: str, levels: int = 9) -> bytes:
    """The same bomb with the anchors defined at the top level and used under ``key``."""
    lines = ['x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"x{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode() + bomb_at(key, f"*a{levels - 1}")


BOMB_KEYS = ("name", "routes.0.method", "cloudwatch.extra_dimensions", "prometheus.queries")


def structure_mutants() -> list[Mutant]:
    out = [
        Mutant("deep-list-20000", nested("name", 20_000), "name"),
        Mutant("deep-map-20000", nested("name", 20_000, "{a: ", "}"), "name"),
        Mutant("deep-extra-dimensions", nested("cloudwatch", 20_000, "{a: ", "}"), "cloudwatch"),
        Mutant("deep-routes", nested("routes", 20_000), "routes"),
        Mutant("deep-block-40", _block_nesting(40), "a"),
        Mutant("recursive-alias", b"name: &a [*a]\n", "name"),
        Mutant("merge-bomb", _merge_bomb(), "x"),
    ]
    for key in BOMB_KEYS:
        out.append(Mutant(f"alias-bomb-inline[{key}]", bomb_inline(key), key))
        out.append(Mutant(f"alias-bomb-top[{key}]", bomb_top(key), "x"))
    text = GOOD.decode()
    duplicates = {
        "name": text + "name: other\n",
        "prometheus.url": text.replace("  job:", "  url: http://other:9090\n  job:"),
        "prometheus": text + "prometheus:\n  url: http://other:9090\n",
        "routes.0.path": text.replace("  method: GET", "  method: GET\n  path: /other"),
        "load.duration": text + "load:\n  duration: 10\n  duration: 20\n",
        "report.output_dir": text.replace("  output_dir:", "  output_dir: a\n  output_dir:"),
    }
    for key, doc in duplicates.items():
        out.append(Mutant(f"duplicate-key[{key}]", doc.encode(), key))
    return out


def _block_nesting(depth: int) -> bytes:
    return (
        "".join(f"{'  ' * level}a:\n" for level in range(depth)).encode() + b"  " * depth + b"1\n"
    )


def _merge_bomb() -> bytes:
    lines = ["x0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(20)) + "}"]
    for level in range(1, 8):
        items = ", ".join(f"v{i}: *m{level - 1}" for i in range(20))
        lines.append(f"x{level}: &m{level} {{<<: *m{level - 1}, {items}}}")
    return ("\n".join(lines) + "\n").encode()


# --- values ---------------------------------------------------------------------------------------

URL_KEYS = (
    "prometheus.url",
    "grafana.url",
    "grafana.datasource.url",
    "app.base_url",
    "targets.cloudwatch.base_url",
    "targets.prometheus.base_url",
    "cloudwatch.endpoint_url",
    "alarms.alertmanager.url",
)
BAD_URLS = {
    "empty": "",
    "htp": "htp://127.0.0.1:9090",
    "ftp": "ftp://127.0.0.1/",
    "no-scheme": "127.0.0.1:9090",
    "no-host": "http://",
    "port-only": "http://:9090",
    "port-0": "http://127.0.0.1:0",
    "port-70000": "http://127.0.0.1:70000",
    "port-99999": "http://127.0.0.1:99999",
    "port-text": "http://127.0.0.1:http",
    "open-bracket": "http://[::1",
    "space": "http://127.0.0.1 :9090",
    "javascript": "javascript:alert(1)",
    "credentials-bad-port": f"http://produser:{PASSWORD}@127.0.0.1:99999",
    "credentials-at-sign": f"http://produser:{PASSWORD}@x@[::1",
}


def url_mutants() -> list[Mutant]:
    return [
        mutant(f"url[{key}-{name}]", key, url, (PASSWORD,))
        for key in URL_KEYS
        for name, url in BAD_URLS.items()
    ] + [mutant(f"url[{key}-number]", key, 9090) for key in URL_KEYS[:3]]


DURATIONS = (
    ("load.duration", 0),
    ("load.duration", -5),
    ("load.duration", "0s"),
    ("load.duration", "-1s"),
    ("load.duration", "soon"),
    ("load.duration", float("inf")),
    ("load.duration", float("nan")),
    ("load.duration", True),
    ("load.worker_wait", 0),
    ("load.wait_min", -1),
    ("load.stop_timeout", -1),
    ("window.settle_poll", 0),
    ("window.settle_poll", "0ms"),
    ("window.settle_timeout", 0),
    ("window.clock_skew", -0.5),
    ("prometheus.scrape_interval", 0),
    ("prometheus.scrape_interval", "0s"),
    ("cost.retention", 0),
    ("alarms.evaluation_interval", 0),
)

VALUES = {
    "name-300-chars": ("name", "x" * 300),
    "name-slash": ("name", "a/b"),
    "name-dot-dot-path": ("name", "../../etc"),
    "name-dot-dot": ("name", ".."),
    "name-empty": ("name", ""),
    "name-line-break": ("name", "line\nbreak"),
    "name-number": ("name", 5),
    "method-empty": ("routes.0.method", ""),
    "method-with-path": ("routes.0.method", "GET /x"),
    "method-line-break": ("routes.0.method", "G\nET"),
    "path-relative": ("routes.0.path", "no-slash"),
    "job-quote": ("prometheus.job", 'flask"app'),
    "job-backslash": ("prometheus.job", "flask\\app"),
    "job-line-break": ("prometheus.job", "flask\napp"),
    "selector-unclosed": ("prometheus.selector", 'env="prod'),
    "selector-bare-word": ("prometheus.selector", "env"),
    "selector-a-query": ("prometheus.selector", "rate(x[5m])"),
    "histogram-dash": ("prometheus.histogram", "bad-name"),
    "path-label-digit": ("prometheus.path_label", "1path"),
    "method-label-space": ("prometheus.method_label", "me thod"),
    "query-unclosed": ("prometheus.queries.0.expr", "rate(x[5m]"),
    "query-by-unclosed": ("prometheus.queries.0.expr", "sum by ("),
    "query-empty": ("prometheus.queries.0.expr", ""),
    "tolerance-inf": ("tolerances.mean_latency.relative", float("inf")),
    "tolerance-nan": ("tolerances.mean_latency.absolute_ms", float("nan")),
    "slack-inf": ("tolerances.count.slack", float("inf")),
    "edge-nan": ("tolerances.percentile.edge_relative", float("nan")),
    "route-tolerance-inf": ("routes.0.tolerances", {"mean_latency": {"relative": float("inf")}}),
    "grafana-tolerance-inf": ("grafana.relative_tolerance", float("inf")),
    "spawn-rate-inf": ("load.spawn_rate", float("inf")),
    "period-45": ("window.period", 45),
    "period-past-datetime": ("window.period", 600_000_000_000),
    "settle-timeout-huge": ("window.settle_timeout", 1e300),
    "region-with-space": ("cloudwatch.region", "eu west 1"),
    "sigv4-region-slash": ("prometheus.sigv4", {"region": "eu/west"}),
    "namespace-empty": ("cloudwatch.namespace", ""),
    "metric-name-300": ("cloudwatch.metric_name", "m" * 300),
    "dimension-control": ("cloudwatch.endpoint_dimension", "End\x01point"),
    "extra-dimension-empty-value": ("cloudwatch.extra_dimensions", {"Env": ""}),
    "extra-dimensions-31": ("cloudwatch.extra_dimensions", {f"D{i}": "v" for i in range(31)}),
    "ssh-without-host": ("hosts.host", "ssh://"),
    "output-dir-proc-child": ("report.output_dir", "/proc/cwparity"),
    "output-dir-proc": ("report.output_dir", "/proc"),
    "output-dir-sys": ("report.output_dir", "/sys/kernel/x"),
    "output-dir-dev-null": ("report.output_dir", "/dev/null"),
    "output-dir-empty": ("report.output_dir", ""),
    "output-dir-300-chars": ("report.output_dir", "x" * 300),
    "output-dir-a-file": ("report.output_dir", A_FILE),
    "output-dir-under-a-file": ("report.output_dir", f"{A_FILE}/reports"),
}


def value_mutants() -> list[Mutant]:
    out = [mutant(f"duration[{key}={value!r}]", key, value) for key, value in DURATIONS]
    queries = with_value("prometheus.queries", [{"name": "q", "expr": "up"}])
    for name, (key, value) in VALUES.items():
        out.append(Mutant(name, as_yaml(with_value(key, value, queries)), key))
    return out + secret_mutants() + share_mutants()


def secret_mutants() -> list[Mutant]:
    both = {"username": "u", "password": SECRET, "password_env": "PW"}
    return [
        mutant("basic-auth-both-sources", "prometheus.basic_auth", both, (SECRET,)),
        mutant(
            "basic-auth-password-number",
            "prometheus.basic_auth",
            {"username": "u", "password": 31415926},
            ("31415926",),
        ),
        mutant("basic-auth-no-username", "prometheus.basic_auth", {"password": SECRET}),
        mutant("basic-auth-list", "prometheus.basic_auth", [SECRET, SECRET], (SECRET,)),
        mutant("bearer-number", "prometheus.bearer_token", 31415926, ("31415926",)),
        Mutant(
            "bearer-token-and-env",
            as_yaml(with_value("prometheus.bearer_token_env", "TOKEN", _with_token())),
            "prometheus.bearer_token_env",
            (SECRET,),
        ),
        Mutant(
            "bearer-token-and-sigv4",
            as_yaml(with_value("prometheus.sigv4", {"region": "eu-west-1"}, _with_token())),
            "prometheus.sigv4",
            (SECRET,),
        ),
    ]


def _with_token() -> dict:
    return with_value("prometheus.bearer_token", SECRET)


def share_mutants() -> list[Mutant]:
    out = []
    for name, shares in {
        "sum-1.8": (0.9, 0.9),
        "sum-0.6": (0.3, 0.3),
        "one-only": (0.5, None),
    }.items():
        targets = {
            side: {"base_url": "http://127.0.0.1:8081"}
            | ({"traffic_share": share} if share else {})
            for side, share in zip(("cloudwatch", "prometheus"), shares, strict=True)
        }
        data = with_value("targets", targets)
        out.append(Mutant(f"traffic-share[{name}]", as_yaml(data), "targets.prometheus"))
    return out


def all_mutants() -> list[Mutant]:
    return file_mutants() + structure_mutants() + url_mutants() + value_mutants()


MUTANTS = all_mutants()


def test_the_set_is_large_and_every_id_is_unique():
    assert len(MUTANTS) >= 150
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)


@pytest.fixture
def mutant_file(tmp_path, request) -> Path:
    """The mutant written to a file; ``A_FILE`` in it becomes a plain file that exists."""
    a_file = tmp_path / "a-file"
    a_file.write_text("a file, not a folder\n")
    path = tmp_path / "mutant.yaml"
    path.write_bytes(request.param.content.replace(A_FILE.encode(), str(a_file).encode()))
    return path


def encoded(secret: str) -> tuple[str, ...]:
    return (secret, urllib.parse.quote(secret), base64.b64encode(secret.encode()).decode())


def assert_one_line_refusal(m: Mutant, path: Path, code: int, out: str, err: str) -> None:
    __tracebackhide__ = True
    assert code == 2, (m.id, code, out, err)
    assert out == "", (m.id, out)
    lines = err.splitlines()
    assert len(lines) == 1, (m.id, err[:2000])
    line = lines[0]
    assert line.startswith("cwparity: error: ") and "Traceback" not in line, (m.id, line)
    assert str(path) in line, (m.id, line)
    if m.key is not None:
        assert f"key '{m.key}" in line or f"'{m.key}" in line, (m.id, line)
    assert len(line) < 600, (m.id, len(line))
    for secret in m.secrets:
        for form in encoded(secret):
            assert form not in line, (m.id, line)


def test_the_config_every_mutant_starts_from_is_valid(tmp_path, capsys):
    """The twin: unmutated, the same config passes, so a refusal is the mutation's doing."""
    path = tmp_path / "good.yaml"
    path.write_bytes(as_yaml(base(str(tmp_path))))
    assert cli.main(["validate", "--config", str(path)]) == 0
    assert capsys.readouterr().err == ""
    targets = mutant("targets", "targets.cloudwatch.base_url", "http://127.0.0.1:8081")
    path.write_bytes(
        targets.content.replace(b"output_dir: reports", f"output_dir: {tmp_path}".encode())
    )
    assert cli.main(["validate", "--config", str(path)]) == 0


@pytest.mark.parametrize("mutant_file", MUTANTS, ids=[m.id for m in MUTANTS], indirect=True)
def test_validate_refuses_every_mutant_in_one_line(mutant_file, request, capsys):
    m = request.node.callspec.params["mutant_file"]
    code = cli.main(["validate", "--config", str(mutant_file)])
    captured = capsys.readouterr()
    assert_one_line_refusal(m, mutant_file, code, captured.out, captured.err)


@pytest.mark.parametrize("mutant_file", MUTANTS, ids=[m.id for m in MUTANTS], indirect=True)
def test_run_refuses_every_mutant_before_it_starts(mutant_file, request, capsys, tmp_path):
    """What validate refuses, run refuses too, the same way, before it writes anything."""
    m = request.node.callspec.params["mutant_file"]
    out = tmp_path / "out"
    code = cli.main(["run", "--config", str(mutant_file), "--out", str(out)])
    captured = capsys.readouterr()
    assert_one_line_refusal(m, mutant_file, code, captured.out, captured.err)
    assert not out.exists()


# --- the CLI as a user runs it: subprocesses with a hard timeout ---------------------------------

#: every mutant that could hang or exhaust memory, and one of each other kind
SUBPROCESS = [
    m
    for m in MUTANTS
    if m.id.startswith(("alias-bomb", "deep-", "recursive", "merge-bomb", "too-large", "largest"))
    or m.id
    in {
        "gzip",
        "latin-1",
        "utf-16-le-bom",
        "nul-byte",
        "duplicate-key[prometheus.url]",
        "url[prometheus.url-open-bracket]",
        "url[cloudwatch.endpoint_url-port-70000]",
        "url[cloudwatch.endpoint_url-empty]",
        "url[app.base_url-credentials-bad-port]",
        "name-300-chars",
        "name-slash",
        "output-dir-proc-child",
        "output-dir-a-file",
        "job-quote",
        "query-unclosed",
        "method-with-path",
        "tolerance-inf",
        "duration[load.duration=0]",
        "basic-auth-both-sources",
    }
]
RUN_SUBSET = {
    "gzip",
    "deep-list-20000",
    "alias-bomb-inline[name]",
    "url[prometheus.url-open-bracket]",
    "name-300-chars",
    "output-dir-proc-child",
    "output-dir-a-file",
    "duplicate-key[prometheus.url]",
    "basic-auth-both-sources",
}
CASES = [(m, "validate") for m in SUBPROCESS] + [
    (m, "run") for m in SUBPROCESS if m.id in RUN_SUBSET
]


def test_the_subprocess_subset_covers_each_kind():
    ids = {m.id for m, _ in CASES}
    assert ids >= RUN_SUBSET and len(SUBPROCESS) >= 30


#: the child's budget: 5 s of CPU (killed by SIGXCPU past it: a hang of the busy kind; the wall
#: timeout above catches one that sleeps, with room for a machine busy with other tests) and
#: 1 GiB of address space (an alias bomb expanded would need terabytes)
CPU_SECONDS, ADDRESS_SPACE = 5, 1024**3


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.parametrize(
    ("mutant_file", "command"),
    CASES,
    ids=[f"{command}-{m.id}" for m, command in CASES],
    indirect=["mutant_file"],
)
def test_the_cli_refuses_within_five_cpu_seconds(mutant_file, command, request, tmp_path):
    m = request.node.callspec.params["mutant_file"]
    argv = [sys.executable, "-m", "cwparity.cli", command, "--config", str(mutant_file)]
    if command == "run":
        argv += ["--out", str(tmp_path / "out")]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=tmp_path, preexec_fn=_limits
    )
    assert_one_line_refusal(m, mutant_file, done.returncode, done.stdout, done.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", BOMB_KEYS)
def test_an_alias_bomb_costs_little_memory(tmp_path, key):
    path = tmp_path / "bomb.yaml"
    path.write_bytes(bomb_inline(key, levels=12))
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=r"counting what aliases expand to"):
            load_config(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # fully expanded it is 9**12 strings (a terabyte); refused, it is the file's few nodes
    assert peak < 20 * 1024 * 1024
