"""Prometheus rule files: the harness's translations written out, the team's read in and paired
with their alarms, and what a team rule does differently from its alarm, in words.

Pure except ``load_rules_file``, which reads the team's file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml

from cwparity.alarms.model import AlarmSpec
from cwparity.alarms.translate import Mapping, Rule, Translation, alert_name, duration
from cwparity.config_file import load_yaml
from cwparity.errors import ConfigError

# the PromQL lint's AST walk (promql-parser's node types), shared rather than repeated
from cwparity.lint import _number, _walk

GROUP = "cwparity-cloudwatch-alarms"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
COMPARISONS = frozenset({">", ">=", "<", "<=", "==", "!="})


def seconds(text: Any) -> float:
    """A Prometheus duration (``30s``, ``1m30s``, ``500ms``) in seconds; 0 for none."""
    if text in (None, "", 0):
        return 0.0
    raw = str(text).strip()
    parts = _DURATION_PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"not a Prometheus duration: {raw!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


# --- writing the harness's rules --------------------------------------------------------


def rule_entry(rule: Rule) -> dict[str, Any]:
    entry: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
    if rule.for_seconds:
        entry["for"] = duration(rule.for_seconds)
    entry["labels"] = dict(rule.labels)
    entry["annotations"] = dict(rule.annotations)
    return entry


HEADER = """\
# Prometheus alerting rules translated from CloudWatch alarms by cwparity {version}.
# On the guide's monitoring host: copy this file to {host_path}, list it in
# /etc/prometheus/prometheus.yml under
#   rule_files:
#     - {host_glob}
# check it with `promtool check rules {host_path}`, then reload Prometheus
# (`sudo systemctl reload prometheus`, or SIGHUP). Each rule's annotations say how exact it is.
"""


def render_rules(rules: Sequence[Rule], host_path: str, version: str) -> str:
    """The rules file for ``rules``, with how to install it on the guide's host."""
    body = {"groups": [{"name": GROUP, "rules": [rule_entry(r) for r in rules]}]}
    glob = str(Path(host_path).parent / "*.yml")
    header = HEADER.format(version=version, host_path=host_path, host_glob=glob)
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=10_000)


def unique_alert_names(translations: Iterable[Translation]) -> dict[str, str]:
    """One alert name per alarm (``Name``, ``Name2`` … when two alarms sanitize alike)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for t in translations:
        base = alert_name(t.alarm.name)
        name, n = base, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        taken.add(name)
        names[t.alarm.name] = name
    return names


# --- the team's rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRule:
    """One alerting rule from a team's rules file."""

    file: str
    group: str
    alert: str
    expr: str
    for_seconds: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    interval: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "group": self.group,
            "alert": self.alert,
            "expr": self.expr,
            "for_seconds": self.for_seconds,
            "labels": self.labels,
            "annotations": self.annotations,
            "interval": self.interval,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TeamRule:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def load_rules_file(path: Path) -> list[TeamRule]:
    """The alerting rules of a Prometheus rules file; a bad file is one ConfigError line."""
    try:
        data = load_yaml(path)
    except ConfigError as err:
        raise ConfigError(f"alarms.rules_files: {err}") from None
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise ConfigError(f"alarms.rules_files: {path}: not a Prometheus rules file (no groups:)")
    found = []
    for group in groups:
        for raw in (group or {}).get("rules") or []:
            if isinstance(raw, dict) and raw.get("alert"):
                found.append(_team_rule(path, group, raw))
    return found


def _team_rule(path: Path, group: dict[str, Any], raw: dict[str, Any]) -> TeamRule:
    where = f"alarms.rules_files: {path}: rule {raw.get('alert')!r}"
    try:
        for_seconds = seconds(raw.get("for"))
        interval = seconds(group.get("interval")) or None
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from None
    return TeamRule(
        file=str(path),
        group=str(group.get("name")),
        alert=str(raw["alert"]),
        expr=str(raw.get("expr", "")).strip(),
        for_seconds=for_seconds,
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
        interval=interval,
    )


def pair(
    rules: Sequence[TeamRule], alarms: Sequence[AlarmSpec], pair_by: str, pair_key: str
) -> tuple[dict[str, list[TeamRule]], list[TeamRule]]:
    """Each alarm's team rules (by label, annotation or name), and the rules that pair with
    none."""
    by_name = {a.name: a for a in alarms}
    by_alert = {alert_name(a.name): a.name for a in alarms}
    paired: dict[str, list[TeamRule]] = {}
    unpaired = []
    for rule in rules:
        if pair_by == "label":
            key = rule.labels.get(pair_key)
        elif pair_by == "annotation":
            key = rule.annotations.get(pair_key)
        else:
            key = rule.alert if rule.alert in by_name else by_alert.get(rule.alert)
        if key in by_name:
            paired.setdefault(str(key), []).append(rule)
        else:
            unpaired.append(rule)
    return paired, unpaired


# --- what a rule does differently from its alarm --------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a rule's expression does, read from its AST."""

    threshold: float | None = None
    operator: str = ""
    statistic: str = ""
    windows: tuple[float, ...] = ()
    grid_step: float | None = None


def shape(expr: str, histogram: str) -> Shape:
    """The threshold comparison on the histogram's statistic, its windows and subquery step."""
    try:
        tree = pp.parse(expr)
    except ValueError:
        return Shape()
    nodes = _walk(tree)
    windows = tuple(
        sorted({n.range.total_seconds() for n in nodes if isinstance(n, pp.MatrixSelector)})
    )
    steps = [n.step.total_seconds() for n in nodes if isinstance(n, pp.SubqueryExpr) and n.step]
    for node in nodes:
        found = _threshold_comparison(node, histogram)
        if found:
            statistic, operator, threshold = found
            return Shape(threshold, operator, statistic, windows, steps[0] if steps else None)
    return Shape(windows=windows, grid_step=steps[0] if steps else None)


def _threshold_comparison(node: object, histogram: str) -> tuple[str, str, float] | None:
    """``S op N`` where S reads the histogram and holds no comparison itself: the innermost one
    (``count_over_time((S > 0.5)[..]) >= 2`` compares S with 0.5, not a count with 2)."""
    if not (isinstance(node, pp.BinaryExpr) and str(node.op) in COMPARISONS):
        return None
    sides = [(node.lhs, node.rhs, str(node.op)), (node.rhs, node.lhs, _flip(str(node.op)))]
    for expr, other, op in sides:
        number = _number(other)
        if number is not None and _reads(expr, histogram) and not _compares(expr):
            return _unparen(str(expr)), op, number
    return None


def _compares(node: object) -> bool:
    return any(isinstance(n, pp.BinaryExpr) and str(n.op) in COMPARISONS for n in _walk(node))


def _flip(op: str) -> str:
    return {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)


def _unparen(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _reads(node: object, histogram: str) -> bool:
    return any(
        isinstance(n, pp.VectorSelector) and (n.name or "").startswith(histogram)
        for n in _walk(node)
    )


def differences(
    spec: AlarmSpec, rule_expr: str, for_seconds: float, mapping: Mapping, wanted: float
) -> list[str]:
    """How a rule differs from its alarm, each in words (empty when nothing is visible)."""
    found = shape(rule_expr, mapping.histogram)
    said = []
    if found.threshold is not None and wanted:
        said += _threshold_words(found.threshold, wanted, mapping.prometheus_unit, spec)
    if found.operator and spec.operator and found.operator != spec.operator:
        said.append(f"it compares with {found.operator} where the alarm uses {spec.operator}")
    period = spec.period
    odd = [w for w in found.windows if abs(w - period) > 1e-9]
    if odd:
        listed = ", ".join(duration(w) for w in odd)
        said.append(f"its window {listed} is not the alarm's period {duration(period)}")
    grid = found.grid_step is not None and abs(found.grid_step - period) < 1e-9
    if not grid:
        said.append(
            f"it slides: it reads the last {duration(period)} at every evaluation, where "
            f"CloudWatch reads whole periods on its {duration(period)} grid"
        )
    said += _for_words(spec, for_seconds, grid)
    return said


def _threshold_words(found: float, wanted: float, unit: str, spec: AlarmSpec) -> list[str]:
    if abs(found - wanted) <= 1e-9 * max(abs(wanted), 1):
        return []
    ratio = found / wanted
    for factor, words in (
        (1000.0, "milliseconds written where seconds are meant"),
        (0.001, "seconds written where milliseconds are meant"),
    ):
        if abs(ratio - factor) < 1e-6 * factor:
            return [
                f"threshold {found:g} where the alarm's {spec.threshold:g} is {wanted:g} "
                f"{unit}: off by {ratio:g} — units ({words})"
            ]
    return [f"threshold {found:g} where the alarm's is {wanted:g} {unit}"]


def _for_words(spec: AlarmSpec, for_seconds: float, grid: bool) -> list[str]:
    m, n, period = spec.datapoints_to_alarm, spec.evaluation_periods, spec.period
    exact = m >= n and abs(for_seconds - (n - 1) * period) < 1e-9
    if exact or (grid and m < n and for_seconds == 0):
        return []
    row = for_seconds / period + 1
    if grid:
        needs = f"it needs {row:g} breaching periods in a row"
    else:
        needs = f"its condition must hold for {duration(for_seconds)} straight (about {row:g} periods of {duration(period)})"
    wanted = f"{m} of {n}" + (" — any breaching datapoints, not consecutive ones" if m < n else "")
    return [f"for: {duration(for_seconds)}: {needs}, where the alarm needs {wanted}"]


def _first(text: str) -> str:
    return " ".join(text.split())[:200]


# --- a promtool unit test from a run's own data ---------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """At ``at`` (unix seconds), is ``alert`` firing with ``labels``/``annotations``?"""

    alert: str
    at: float
    firing: bool
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def series_text(labels: dict[str, str]) -> str:
    """``name{k="v",...}`` in Prometheus's text form, every value escaped."""
    name = labels.get("__name__", "")
    inner = ",".join(
        f'{k}="{_escape_value(v)}"' for k, v in sorted(labels.items()) if k != "__name__"
    )
    return f"{name}{{{inner}}}"


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def placed(samples: Sequence[tuple[float, float]], start: float, step: float, count: int) -> str:
    """The series as promtool values: each sample in the slot nearest its own timestamp on a
    grid of ``step`` from ``start``, the slots between them missing (``_xN``), so promtool's
    windows hold the scrapes Prometheus's did (to within half a step of their edges)."""
    slots: dict[int, float] = {}
    for stamp, value in samples:
        slot = round((stamp - start) / step)
        if 0 <= slot < count:
            slots[slot] = value  # two samples in one slot: the later one, as a scrape would
    tokens, last = [], -1
    for slot in sorted(slots):
        gap = slot - last - 1
        if gap:
            tokens.append(f"_x{gap}")
        tokens.append(f"{slots[slot]:.10g}")
        last = slot
    return " ".join(tokens) or f"_x{count}"


def promtool_test(
    rule_file: str,
    series: Sequence[tuple[dict[str, str], Sequence[tuple[float, float]]]],
    expectations: Sequence[Expectation],
    start: float,
    end: float,
    step: float,
    evaluation_interval: float,
    name: str,
) -> dict[str, Any]:
    """A ``promtool test rules`` document: the run's samples from ``start`` (on the alarms'
    period grid, so promtool's time 0 keeps CloudWatch's grid) placed on a grid of ``step``,
    and one alert test per expectation, at its time relative to ``start``."""
    count = round((end - start) / step) + 1
    tests = []
    for e in sorted(expectations, key=lambda x: (x.at, x.alert)):
        expected = (
            [{"exp_labels": {**e.labels}, "exp_annotations": {**e.annotations}}] if e.firing else []
        )
        tests.append(
            {
                "eval_time": duration(round(e.at - start, 3)),
                "alertname": e.alert,
                "exp_alerts": expected,
            }
        )
    return {
        "rule_files": [rule_file],
        "evaluation_interval": duration(evaluation_interval),
        "tests": [
            {
                "name": name,
                "interval": duration(step),
                "input_series": [
                    {
                        "series": series_text(labels),
                        "values": placed(samples, start, step, count),
                    }
                    for labels, samples in series
                ],
                "alert_rule_test": tests,
            }
        ],
    }
