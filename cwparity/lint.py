"""PromQL lint: the queries a team will rely on after cutover, read before anything is fetched.

Each query in ``prometheus.queries`` (a dashboard panel, an alert) is parsed with promql-parser
(Python bindings of the Rust PromQL parser GreptimeDB uses) and its AST is checked for the ways a
Prometheus query silently stops meaning what CloudWatch's ``EndpointLatency`` meant:

- ``cumulative_ratio``: ``x_sum / x_count`` on raw counters is the mean since the process started,
  not the mean of a period (the guide's dashboard query);
- ``short_range``: a range window shorter than 4 scrape intervals holds too few samples for
  ``rate()`` to be stable (or any at all, after one missed scrape);
- ``extra_labels``: the result keeps labels CloudWatch's metric does not have (``status``,
  ``instance``, ``le``), so one CloudWatch series is split in several;
- ``status_filter``: a matcher on ``status`` drops requests CloudWatch counts (404s, 500s);
- ``units``: seconds shown where CloudWatch shows milliseconds, or the other way round;
- ``parse_error``: the query does not parse (always a failure).

Label tracking is static: it knows the histogram's own labels (``method``, ``path``, ``status``,
``le`` on buckets) and the target labels Prometheus adds (``instance``; ``job`` is left out, it is
constant for one app). ``label_replace``/``label_join`` are passed through, and subquery ranges
are not checked against the scrape interval (their resolution is the subquery step). Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import promql_parser as pp

from cwparity.config import RunConfig
from cwparity.results import CheckResult, Status

RATE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta"})
STATUS_LABEL = "status"
TARGET_LABELS = frozenset({"instance"})
#: labels that never split a series of one app (one scrape job)
CONSTANT_LABELS = frozenset({"job", "__name__"})
MATCH_ALL = frozenset({".*", ".+"})
_SUFFIXES = ("_sum", "_count", "_bucket")
_UNIT_SECONDS = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6}
_UNIT_NAMES = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds"}


@dataclass(frozen=True)
class LintContext:
    """What a query is judged against: the mapping to CloudWatch and the scrape interval."""

    histogram: str = "flask_http_request_duration_seconds"
    path_label: str = "path"
    method_label: str = "method"
    prometheus_unit: str = "seconds"
    cloudwatch_unit: str = "Seconds"
    scrape_interval: float | None = None
    extra_labels: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: RunConfig, scrape_interval: float | None) -> LintContext:
        prom, cw = config.prometheus, config.cloudwatch
        return cls(
            histogram=prom.histogram,
            path_label=prom.path_label,
            method_label=prom.method_label,
            prometheus_unit=prom.unit,
            cloudwatch_unit=cw.unit,
            scrape_interval=scrape_interval or prom.scrape_interval,
            extra_labels=frozenset(key.lower() for key in cw.extra_dimensions),
        )

    def allowed(self, label: str) -> bool:
        """True for a label CloudWatch's metric has too (Endpoint, Method, extra dimensions)."""
        return (
            label in (self.path_label, self.method_label)
            or label.lower() in self.extra_labels
            or label in CONSTANT_LABELS
        )

    def min_range(self) -> float | None:
        return 4 * self.scrape_interval if self.scrape_interval else None

    def window(self) -> str:
        """The range to suggest: 5m, or 4 scrape intervals when that is longer."""
        seconds = max(300.0, self.min_range() or 0.0)
        return _duration(seconds)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a query: a code, what is wrong in plain words, and what to write."""

    code: str
    message: str
    fix: str
    fatal: bool = False


# --- the AST: small helpers over promql-parser's node types ----------------------------------


def _children(node: object) -> list[Any]:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] + ([node.param] if isinstance(node.param, pp.Expr) else [])
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [node.expr]
    return []


def _walk(node: object) -> list[object]:
    nodes, stack = [], [node]
    while stack:
        current = stack.pop()
        nodes.append(current)
        stack.extend(reversed(_children(current)))
    return nodes


def _metric_name(selector: pp.VectorSelector) -> str:
    if selector.name:
        return selector.name
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == pp.MatchOp.Equal:
            return matcher.value
    return ""


def _split_name(name: str) -> tuple[str, str]:
    """``x_sum`` → (``x``, ``sum``); a name without a histogram suffix → (name, "")."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix[1:]
    return name, ""


def _selectors(node: object) -> list[pp.VectorSelector]:
    return [n for n in _walk(node) if isinstance(n, pp.VectorSelector)]


def _counters(node: object, bare_only: bool = False) -> set[tuple[str, str]]:
    """(base, sum|count) of the selectors in ``node``; with ``bare_only``, those no rate-like
    function wraps."""
    if bare_only and isinstance(node, pp.Call) and node.func.name in RATE_FUNCTIONS:
        return set()
    if isinstance(node, pp.VectorSelector):
        base, kind = _split_name(_metric_name(node))
        return {(base, kind)} if kind in ("sum", "count") else set()
    found: set[tuple[str, str]] = set()
    for child in _children(node):
        found |= _counters(child, bare_only)
    return found


def _ratio_bases(node: pp.BinaryExpr) -> set[str]:
    """Histograms whose ``_sum`` and ``_count`` face each other across ``node``, one of them raw."""
    left, right = _counters(node.lhs), _counters(node.rhs)
    bare = _counters(node.lhs, True) | _counters(node.rhs, True)
    pairs = {(b, "sum", "count") for b, k in left if k == "sum"}
    pairs |= {(b, "count", "sum") for b, k in left if k == "count"}
    return {
        b
        for b, mine, theirs in pairs
        if (b, theirs) in right and ((b, mine) in bare or (b, theirs) in bare)
    }


def _format_selector(name: str, matchers: list[pp.Matcher]) -> str:
    inner = ",".join(str(m) for m in matchers if m.name != "__name__")
    return f"{name}{{{inner}}}" if inner else name


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _touches_histogram(selectors: list[pp.VectorSelector], context: LintContext) -> bool:
    return any(_split_name(_metric_name(s))[0] == context.histogram for s in selectors)


def suggested_ratio(base: str, context: LintContext, matchers: Sequence[pp.Matcher] = ()) -> str:
    """The per-period mean latency, as CloudWatch's Average computes it per Endpoint and Method."""
    kept = [m for m in matchers if m.name not in (STATUS_LABEL, "__name__")]
    by = f"sum by ({context.path_label}, {context.method_label})"
    window = context.window()
    sides = [
        f"{by} (rate({_format_selector(f'{base}{k}', kept)}[{window}]))" for k in _SUFFIXES[:2]
    ]
    return " / ".join(sides)


# --- the rules --------------------------------------------------------------------------------


def _cumulative_ratio(expr: object, context: LintContext) -> list[Finding]:
    for node in _walk(expr):
        if not (isinstance(node, pp.BinaryExpr) and str(node.op) == "/"):
            continue
        bases = _ratio_bases(node)
        if not bases:
            continue
        base = sorted(bases)[0]
        matchers = next(
            (
                s.matchers.matchers
                for s in _selectors(node)
                if _split_name(_metric_name(s))[0] == base
            ),
            [],
        )
        fix = suggested_ratio(base, context, matchers)
        message = (
            f"{base}_sum / {base}_count divides raw counters: that is the mean latency since the "
            f"process started, not per period as CloudWatch's Average; write {fix}"
        )
        return [Finding("cumulative_ratio", message, fix)]
    return []


def _short_range(expr: object, context: LintContext) -> list[Finding]:
    minimum = context.min_range()
    if minimum is None:
        return []
    short = [
        node
        for node in _walk(expr)
        if isinstance(node, pp.MatrixSelector) and node.range.total_seconds() < minimum
    ]
    if not short:
        return []
    windows = ", ".join(sorted({pp.display_duration(node.range) for node in short}))
    fix_range = _duration(minimum)
    message = (
        f"range window {windows} is shorter than 4 scrape intervals "
        f"({context.scrape_interval:g}s each): rate() over it is noisy or empty after one missed "
        f"scrape; use [{fix_range}] or longer"
    )
    return [Finding("short_range", message, f"[{fix_range}] or longer")]


def _selector_labels(selector: pp.VectorSelector, context: LintContext) -> frozenset[str]:
    """Labels CloudWatch lacks that the selector's series carry, less those pinned to one value."""
    base, kind = _split_name(_metric_name(selector))
    if base != context.histogram:
        return frozenset()
    labels = {STATUS_LABEL, *TARGET_LABELS} | ({"le"} if kind == "bucket" else set())
    pinned = {m.name for m in selector.matchers.matchers if m.op == pp.MatchOp.Equal}
    return frozenset(label for label in labels - pinned if not context.allowed(label))


def _aggregate_labels(node: pp.AggregateExpr, context: LintContext) -> frozenset[str]:
    inner = _kept_labels(node.expr, context)
    op = str(node.op)
    if op in ("topk", "bottomk", "limitk", "limit_ratio"):
        return inner  # these select series, they keep every label
    modifier = node.modifier
    if modifier is None:
        grouped: frozenset[str] = frozenset()
    elif modifier.type == pp.AggModifierType.By:
        grouped = frozenset(label for label in modifier.labels if not context.allowed(label))
    else:
        grouped = inner - set(modifier.labels)
    param = node.param.val if isinstance(node.param, pp.StringLiteral) else None
    if op == "count_values" and param and not context.allowed(param):
        grouped |= {param}
    return grouped


def _binary_labels(node: pp.BinaryExpr, context: LintContext) -> frozenset[str]:
    left, right = _kept_labels(node.lhs, context), _kept_labels(node.rhs, context)
    modifier, op = node.modifier, str(node.op)
    if not _selectors(node.lhs) or not _selectors(node.rhs):
        return left | right  # a scalar side: the vector side's labels
    if op == "or":
        return left | right
    if op in ("and", "unless") or modifier is None or modifier.matching is None:
        return left
    card, labels = modifier.card, set(modifier.matching.labels)
    if card == pp.VectorMatchCardinality.OneToMany:
        return right | frozenset(modifier.group_labels or ())
    if card == pp.VectorMatchCardinality.ManyToOne:
        return left | frozenset(modifier.group_labels or ())
    if modifier.matching.type == pp.LabelModifierType.Include:
        return left & labels
    return left - labels


def _kept_labels(node: object, context: LintContext) -> frozenset[str]:
    """Labels CloudWatch's metric lacks that ``node``'s result may still carry."""
    if isinstance(node, pp.VectorSelector):
        return _selector_labels(node, context)
    if isinstance(node, pp.AggregateExpr):
        return _aggregate_labels(node, context)
    if isinstance(node, pp.BinaryExpr):
        return _binary_labels(node, context)
    kept: frozenset[str] = frozenset()
    for child in _children(node):
        kept |= _kept_labels(child, context)
    if isinstance(node, pp.Call) and node.func.name == "histogram_quantile":
        kept -= {"le"}
    return kept


def _extra_labels(expr: object, context: LintContext) -> list[Finding]:
    kept = sorted(_kept_labels(expr, context))
    if not kept:
        return []
    names = ", ".join(kept)
    by = f"sum by ({context.path_label}, {context.method_label})"
    keep_le = " (keep le inside histogram_quantile)" if "le" in kept else ""
    message = (
        f"the result keeps label(s) {names} that CloudWatch's metric does not have (it has only "
        f"Endpoint and Method), so one CloudWatch series shows as several; aggregate each "
        f"histogram selector with {by} (...) or without ({names}){keep_le}"
    )
    return [Finding("extra_labels", message, f"{by} (...) around each histogram selector")]


def _status_filter(expr: object, context: LintContext) -> list[Finding]:
    pins = sorted(
        {
            str(m)
            for s in _selectors(expr)
            if _split_name(_metric_name(s))[0] == context.histogram
            for m in s.matchers.matchers
            if m.name == STATUS_LABEL and not (m.op == pp.MatchOp.Re and m.value in MATCH_ALL)
        }
    )
    if not pins:
        return []
    message = (
        f"the matcher {', '.join(pins)} drops requests with other status codes, but CloudWatch's "
        f"EndpointLatency counts every response (404 and 500 included); remove it and sum "
        f"status away with sum by ({context.path_label}, {context.method_label})"
    )
    return [Finding("status_filter", message, f"remove {', '.join(pins)}")]


def _number(node: object) -> float | None:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node.val if isinstance(node, pp.NumberLiteral) else None


def _scale(expr: object) -> float:
    """The factor the query multiplies its values by: ``* 1000`` → 1000, ``/ 1000`` → 0.001."""
    factor = 1.0
    for node in _walk(expr):
        if not isinstance(node, pp.BinaryExpr):
            continue
        left, right, op = _number(node.lhs), _number(node.rhs), str(node.op)
        if op == "*" and (left is None) != (right is None):
            factor *= left if left is not None else right  # type: ignore[operator]
        elif op == "/" and right and left is None:
            factor /= right
    return factor


def _latency_unit(expr: object, context: LintContext) -> float | None:
    """Seconds per unit of the latency series the query reads (``_sum``/``_bucket``), if any."""
    for selector in _selectors(expr):
        base, kind = _split_name(_metric_name(selector))
        if kind not in ("sum", "bucket"):
            continue
        for unit, seconds in _UNIT_SECONDS.items():
            if base.endswith(f"_{unit}"):
                return seconds
        if base == context.histogram:
            return _UNIT_SECONDS[context.prometheus_unit]
    return None


def _units(expr: object, context: LintContext) -> list[Finding]:
    recorded = _latency_unit(expr, context)
    if recorded is None:
        return []
    factor = _scale(expr)
    wanted = _UNIT_SECONDS[context.cloudwatch_unit.lower()]
    if math.isclose(recorded / factor, wanted, rel_tol=1e-6):
        return []
    shown = _UNIT_NAMES.get(_round_unit(recorded / factor), f"units of {recorded / factor:g} s")
    needed = recorded / wanted
    if math.isclose(needed, 1.0):
        fix = f"drop the scaling by {factor:g}"
    elif math.isclose(factor, 1.0):
        fix = f"multiply by {needed:g}" if needed > 1 else f"divide by {1 / needed:g}"
    else:
        fix = f"scale by {needed:g} instead of {factor:g}"
    scaled = "" if math.isclose(factor, 1.0) else f" (scaled by {factor:g})"
    message = (
        f"the query returns {shown} (the histogram records {_UNIT_NAMES[recorded]}{scaled}) but "
        f"CloudWatch's metric is in {context.cloudwatch_unit}: {fix} so both read the same numbers"
    )
    return [Finding("units", message, fix)]


def _round_unit(seconds: float) -> float:
    return next((u for u in _UNIT_NAMES if math.isclose(u, seconds, rel_tol=1e-6)), seconds)


# --- entry points -----------------------------------------------------------------------------

RULES = (_cumulative_ratio, _short_range, _extra_labels, _status_filter, _units)


def lint_query(expr: str, context: LintContext) -> list[Finding]:
    """Every finding for one PromQL expression; a parse error is the only finding then."""
    try:
        tree = pp.parse(expr)
    except ValueError as err:
        first_line = " ".join(str(err).split()) or "invalid PromQL"
        message = f"the query does not parse: {first_line}; fix the PromQL syntax"
        return [Finding("parse_error", message, "fix the PromQL syntax", fatal=True)]
    if not _touches_histogram(_selectors(tree), context) and not _counters(tree):
        return _short_range(tree, context)
    return [finding for rule in RULES for finding in rule(tree, context)]


def lint_checks(config: RunConfig, scrape_interval: float | None) -> list[CheckResult]:
    """One CheckResult per finding (WARN or FAIL by ``lint.severity``), one PASS per clean query."""
    context = LintContext.from_config(config, scrape_interval)
    status = Status.FAIL if config.lint.severity == "fail" else Status.WARN
    checks: list[CheckResult] = []
    for query in config.prometheus.queries:
        findings = lint_query(query.expr, context)
        checks.extend(_finding_check(query.name, query.expr, f, status) for f in findings)
        if not findings:
            checks.append(_clean_check(query.name, query.expr))
    return checks


def _finding_check(name: str, expr: str, finding: Finding, status: Status) -> CheckResult:
    details = {"code": finding.code, "expr": expr, "fix": finding.fix}
    return CheckResult(
        id=f"lint.{finding.code}[{name}]",
        kind="lint",
        subject=name,
        status=Status.FAIL if finding.fatal else status,
        reason=finding.message,
        details=details,
    )


def _clean_check(name: str, expr: str) -> CheckResult:
    reason = "no lint finding: nothing cumulative, short, split by extra labels or in another unit"
    return CheckResult(f"lint[{name}]", "lint", name, Status.PASS, reason, details={"expr": expr})
