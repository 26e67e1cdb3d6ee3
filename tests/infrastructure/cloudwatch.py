"""CloudWatch's alarm evaluation, small enough to read: the metric math the template's alarms use
(FILL, IF, + - * /, comparisons) over synthetic datapoints, then the threshold, comparison,
evaluation periods, datapoints to alarm and treatment of missing data.

A series is one value per period, oldest first; ``None`` is a period without a datapoint (what
CloudWatch has for a metric that was not published then). As in CloudWatch's metric math, an
operation on a missing value is missing, FILL replaces missing values, and IF chooses per
datapoint. Division by zero gives no value.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Series = list[float | None]
# What CloudWatch holds for one metric: (namespace, metric name, its dimension values joined
# by "+", each a resource's name where the template refers to one) -> a series.
World = Callable[[str, str, str], Series]

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


def _tokens(expression: str) -> list[str]:
    found, position = [], 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if not match:
            raise ValueError(f"Cannot read {expression[position:]!r} in {expression!r}")
        found.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return found


def _apply(op: Callable[[float, float], float | None], left: Series, right: Series) -> Series:
    return [None if a is None or b is None else op(a, b) for a, b in zip(left, right, strict=True)]


def _divide(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


_BINARY: dict[str, Callable[[float, float], float | None]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
    ">=": lambda a, b: float(a >= b),
    "<=": lambda a, b: float(a <= b),
    ">": lambda a, b: float(a > b),
    "<": lambda a, b: float(a < b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
}


class _Parser:
    """Recursive descent over: comparison := sum [op sum]; sum := product {(+|-) product};
    product := unary {(*|/) unary}; unary := [-] atom; atom := number | id | call | (expr)."""

    def __init__(self, expression: str, values: Mapping[str, Series], periods: int) -> None:
        self.tokens = _tokens(expression)
        self.position = 0
        self.values = values
        self.periods = periods
        self.expression = expression

    def parse(self) -> Series:
        result = self.comparison()
        if self.position != len(self.tokens):
            raise ValueError(f"Unexpected {self.tokens[self.position]!r} in {self.expression!r}")
        return result

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"Expected {expected or 'more'} in {self.expression!r}")
        self.position += 1
        return token

    def comparison(self) -> Series:
        left = self.sum()
        if self.peek() in (">=", "<=", ">", "<", "==", "!="):
            op = _BINARY[self.take()]
            left = _apply(op, left, self.sum())
        return left

    def sum(self) -> Series:
        left = self.product()
        while self.peek() in ("+", "-"):
            op = _BINARY[self.take()]
            left = _apply(op, left, self.product())
        return left

    def product(self) -> Series:
        left = self.unary()
        while self.peek() in ("*", "/"):
            op = _BINARY[self.take()]
            left = _apply(op, left, self.unary())
        return left

    def unary(self) -> Series:
        if self.peek() == "-":
            self.take()
            return [None if v is None else -v for v in self.unary()]
        return self.atom()

    def atom(self) -> Series:
        token = self.take()
        if token == "(":
            inner = self.comparison()
            self.take(")")
            return inner
        if token[0].isdigit():
            return [float(token)] * self.periods
        if self.peek() == "(":
            self.take("(")
            arguments = [self.comparison()]
            while self.peek() == ",":
                self.take(",")
                arguments.append(self.comparison())
            self.take(")")
            return _call(token, arguments)
        if token not in self.values:
            raise ValueError(f"No metric or expression {token!r} for {self.expression!r}")
        return self.values[token]


def _call(name: str, arguments: list[Series]) -> Series:
    if name == "FILL" and len(arguments) == 2:
        series, value = arguments
        return [v if v is not None else value[i] for i, v in enumerate(series)]
    if name == "IF" and len(arguments) in (2, 3):
        condition, then = arguments[0], arguments[1]
        otherwise = arguments[2] if len(arguments) == 3 else [None] * len(condition)
        return [
            None if c is None else (then[i] if c != 0 else otherwise[i])
            for i, c in enumerate(condition)
        ]
    raise ValueError(f"{name} with {len(arguments)} arguments is not modelled here")


def evaluate(expression: str, values: Mapping[str, Series], periods: int) -> Series:
    return _Parser(expression, values, periods).parse()


@dataclass(frozen=True)
class Verdict:
    state: str
    datapoints: Series


def _subject(template: dict[str, Any], dimensions: list[dict[str, Any]]) -> str:
    """The dimension values: a function's name where the value refers to a function, the logical
    id where it refers to another resource."""
    names = []
    for dimension in dimensions:
        value = dimension["Value"]
        if isinstance(value, dict):
            logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
            resource = template["Resources"][logical_id]
            value = resource["Properties"].get("FunctionName", logical_id)
        names.append(str(value))
    return "+".join(names)


def alarm_series(template: dict[str, Any], alarm: dict[str, Any], world: World) -> Series:
    """The datapoints an alarm judges: its metric, or the expression it returns, in ``world``."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        subject = _subject(template, properties.get("Dimensions", []))
        return world(properties["Namespace"], properties["MetricName"], subject)
    queries = {query["Id"]: query for query in properties["Metrics"]}
    values: dict[str, Series] = {}
    for query_id, query in queries.items():
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            subject = _subject(template, metric.get("Dimensions", []))
            values[query_id] = world(metric["Namespace"], metric["MetricName"], subject)
    periods = len(next(iter(values.values())))
    pending = {i: q["Expression"] for i, q in queries.items() if "Expression" in q}
    while pending:  # expressions may use each other: evaluate those whose inputs are known
        ready = {i: e for i, e in pending.items() if set(_tokens(e)) & set(pending) == set()}
        if not ready:
            raise ValueError(f"Expressions that use each other: {sorted(pending)}")
        for query_id, expression in ready.items():
            values[query_id] = evaluate(expression, values, periods)
            del pending[query_id]
    [returned] = [i for i, q in queries.items() if q.get("ReturnData", True)]
    return values[returned]


def alarm_state(
    template: dict[str, Any], alarm: dict[str, Any], world: World, current: str = OK
) -> Verdict:
    """The state CloudWatch gives the alarm after judging the last EvaluationPeriods datapoints.

    Missing datapoints count as CloudWatch's TreatMissingData says: ``breaching`` and
    ``notBreaching`` as such; with ``missing`` and ``ignore``, only the datapoints present are
    judged (ALARM when they are enough to alarm, or all breach), and with none present the
    alarm goes to INSUFFICIENT_DATA (``missing``) or stays as it is (``ignore``).
    """
    properties = alarm["Properties"]
    periods = int(properties["EvaluationPeriods"])
    needed = int(properties.get("DatapointsToAlarm", periods))
    threshold = float(properties["Threshold"])
    breaches = _COMPARISONS[properties["ComparisonOperator"]]
    treat = properties.get("TreatMissingData", "missing")
    datapoints = alarm_series(template, alarm, world)[-periods:]
    present = [v for v in datapoints if v is not None]
    missing = len(datapoints) - len(present)
    breaching = sum(1 for v in present if breaches(v, threshold))
    if treat == "breaching":
        breaching += missing
    elif treat == "notBreaching":
        pass
    elif not present:
        return Verdict(INSUFFICIENT_DATA if treat == "missing" else current, datapoints)
    elif breaching >= min(needed, len(present)) and breaching == len(present):
        return Verdict(ALARM, datapoints)
    return Verdict(ALARM if breaching >= needed else OK, datapoints)
