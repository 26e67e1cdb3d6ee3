"""IAM, enforced locally: each function runs under the policy the synthesized template gives its
role, and a call that policy does not allow fails as it would on AWS.

moto does not check IAM, so without this a function missing a grant works everywhere but on
AWS. ``local/iam_policies.json`` holds the template's statements for every function's role, the
state machine's role and the sweeper schedule's role (``python -m cdk_app.policies`` writes it; a
test keeps it equal to the template). The runtime resolves their references to its own ARNs and
checks every AWS SDK call made while a principal is acting (``acting_as``): the Lambda gateway
acts as the invoked function, toro dev's API as ``function:api`` and its WebSocket server as
``function:websocket``, the state machine's Lambda calls as ``workflow``, and the recovery
sweeper's timer as ``scheduler``. Calls the local stack makes for itself (creating its resources,
saving its data) act as nobody and are not checked.

Evaluation is IAM's, within what the policies here use, and fails closed: a call is allowed only
when an Allow statement matches its action, its resource and every condition, and no Deny does;
a reference that does not resolve, an intrinsic function, condition operator or condition key
this module does not know, or a call whose resource it cannot tell, allows nothing. (moto's own
evaluator ignores conditions it does not know, which would fail open.) Two things AWS does on a
caller's behalf are checked too: publishing to a topic encrypted with a KMS key needs
``kms:GenerateDataKey`` on that key, and a read from DynamoDB that names no attributes counts as
asking for all of them, so a policy that allows only some attributes refuses it (a write counts
as touching them all).
"""

from __future__ import annotations

import contextvars
import fnmatch
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import botocore.handlers
from botocore.exceptions import ClientError

log = logging.getLogger("toro.iam")

POLICIES = Path(__file__).with_name("iam_policies.json")
# Who is making the AWS calls of this thread or task (None: the local stack itself).
_principal: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "toro_principal", default=None
)
# What a read that names no attributes asks for: no attribute list can hold it.
ALL_ATTRIBUTES = "<every attribute>"
# The IAM name of a service where it differs from the SDK's signing name.
_PREFIX = {"monitoring": "cloudwatch"}
_ACTION = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeAsync"): "InvokeFunction"}
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
# The attributes a write touches are not worked out here: a policy that limits them allows no
# write locally (it fails closed), as a read that names no attributes.
_WRITE_CONTEXT = {"dynamodb:Attributes": (ALL_ATTRIBUTES,)}
_DENIED_CODE = {"sns": "AuthorizationError", "execute-api": "ForbiddenException"}
_CONNECTION_METHOD = {
    "PostToConnection": "POST",
    "GetConnection": "GET",
    "DeleteConnection": "DELETE",
}

T = TypeVar("T")


class Unresolvable(ValueError):
    """A policy names something this module cannot evaluate."""


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes for a call: an action on a resource, with its context."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# --- what a call asks for -------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where the local stack is: what the request ARNs are made of."""

    region: str
    account: str
    stage: str = "dev"
    connections_api: str = "local"
    topic_keys: Mapping[str, str] = field(default_factory=dict)  # topic ARN -> key ARN

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def _attributes(expression: str | None, names: Mapping[str, str] | None) -> tuple[str, ...]:
    """The top-level attribute names of a projection expression."""
    if not expression:
        return ()
    found = []
    for path in expression.split(","):
        root = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
        found.append((names or {}).get(root, root))
    return tuple(found)


def _dynamodb_read_context(operation: str, params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    named = _attributes(params.get("ProjectionExpression"), params.get("ExpressionAttributeNames"))
    named += tuple(params.get("AttributesToGet") or ())
    context = {"dynamodb:Attributes": named or (ALL_ATTRIBUTES,)}
    if operation in ("Query", "Scan"):
        everything = "ALL_PROJECTED_ATTRIBUTES" if params.get("IndexName") else "ALL_ATTRIBUTES"
        default = "SPECIFIC_ATTRIBUTES" if named else everything
        context["dynamodb:Select"] = (str(params.get("Select") or default),)
    return context


def _dynamodb(place: Place, operation: str, params: Mapping[str, Any]) -> list[Request]:
    def table(name: str, index: str | None = None) -> str:
        if name.startswith("arn:"):
            return name
        return place.arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    action = f"dynamodb:{operation}"
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            Request(
                action,
                table(name),
                _dynamodb_read_context(operation, request)
                if operation == "BatchGetItem"
                else _WRITE_CONTEXT,
            )
            for name, request in params.get("RequestItems", {}).items()
        ]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for item in params.get("TransactItems", []):
            [(kind, detail)] = item.items()
            context = _dynamodb_read_context("GetItem", detail) if kind == "Get" else _WRITE_CONTEXT
            requests.append(
                Request(f"dynamodb:{_TRANSACT[kind]}", table(detail["TableName"]), context)
            )
        return requests
    if "TableName" not in params:
        return [Request(action, "*")]
    context = _dynamodb_read_context(operation, params) if operation in _READS else _WRITE_CONTEXT
    return [Request(action, table(params["TableName"], params.get("IndexName")), context)]


def requests_for(
    place: Place, prefix: str, operation: str, params: Mapping[str, Any]
) -> list[Request]:
    """The authorizations AWS makes for ``operation`` of the service ``prefix``."""
    prefix = _PREFIX.get(prefix, prefix)
    action = f"{prefix}:{_ACTION.get((prefix, operation), operation)}"
    if prefix == "dynamodb":
        return _dynamodb(place, operation, params)
    if prefix == "sns":
        topic = str(params.get("TopicArn") or params.get("TargetArn") or "*")
        requests = [Request(action, topic)]
        key = place.topic_keys.get(topic) if operation in ("Publish", "PublishBatch") else None
        if key:  # SNS encrypts the message with the topic's key, as the publisher
            requests.append(Request("kms:GenerateDataKey", key))
        return requests
    if prefix == "states":
        arn = str(params.get("stateMachineArn") or params.get("executionArn") or "*")
        if arn.count(":") == 7 and ":stateMachine:" in arn:
            # A version or alias is authorized on its state machine's own ARN.
            arn = arn.rsplit(":", 1)[0]
        return [Request(action, arn)]
    if prefix == "secretsmanager":
        secret = str(params.get("SecretId") or "*")
        return [
            Request(
                action,
                secret
                if secret.startswith("arn:")
                else place.arn("secretsmanager", f"secret:{secret}"),
            )
        ]
    if prefix == "execute-api":
        method = _CONNECTION_METHOD.get(operation, operation)
        connection = params.get("ConnectionId", "*")
        path = f"{place.connections_api}/{place.stage}/{method}/@connections/{connection}"
        return [Request("execute-api:ManageConnections", place.arn("execute-api", path))]
    if prefix == "lambda":
        name = str(params.get("FunctionName") or "*")
        if not name.startswith("arn:"):
            name = place.arn("lambda", f"function:{name}")
        qualifier = params.get("Qualifier")
        return [Request(action, f"{name}:{qualifier}" if qualifier else name)]
    if prefix == "sqs":
        return [Request(action, str(params.get("QueueUrl") or "*"))]
    return [Request(action, "*")]


# --- the policies ---------------------------------------------------------------------------


def resolve(value: Any, names: Mapping[str, Mapping[str, str]]) -> Any:
    """A policy value with CloudFormation's intrinsic functions evaluated; ``names`` gives each
    referenced resource's ``Ref`` and attributes. A reference to anything else resolves to a
    string that matches no ARN."""
    if isinstance(value, list):
        return [resolve(inner, names) for inner in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {key: resolve(inner, names) for key, inner in value.items()}
    [(function, argument)] = value.items()
    if function == "Ref":
        return names.get(argument, {}).get("Ref", f"<unresolved {argument}>")
    if function == "Fn::GetAtt":
        resource, attribute = argument
        return names.get(resource, {}).get(attribute, f"<unresolved {resource}.{attribute}>")
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(str(part) for part in resolve(parts, names))
    if function == "Fn::Split":
        separator, text = argument
        return str(resolve(text, names)).split(separator)
    if function == "Fn::Select":
        index, items = argument
        return resolve(items, names)[int(index)]
    if function.startswith("Fn::"):
        raise Unresolvable(f"{function} is not evaluated here")
    return {function: resolve(argument, names)}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringNotEquals": lambda expected, actual: expected != actual,
    "StringLike": _like,
    "StringNotLike": lambda expected, actual: not _like(expected, actual),
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": _like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
_NEGATED = ("StringNotEquals", "StringNotLike")
# The condition keys a local call's context can hold.
KNOWN_KEYS = frozenset({"dynamodb:Attributes", "dynamodb:Select"})


def _condition_holds(
    operator: str, key: str, expected: Any, context: Mapping[str, tuple[str, ...]]
) -> bool | None:
    """Whether one condition holds for ``context``; None when it cannot be evaluated here."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    test = _OPERATORS.get(base)
    if (
        test is None
        or qualifier not in ("", "ForAllValues", "ForAnyValue")
        or key not in KNOWN_KEYS
    ):
        return None
    expected_values = [str(item) for item in _as_list(expected)]
    actual = context.get(key)
    if actual is None:
        # A missing key, as in IAM: ...IfExists and ForAllValues hold, and so does a negated
        # operator (StringNotEquals...) on a single value; anything else does not.
        return if_exists or qualifier == "ForAllValues" or (not qualifier and base in _NEGATED)

    def matches(value: str) -> bool:
        results = [test(pattern, value) for pattern in expected_values]
        return all(results) if base in _NEGATED else any(results)

    if qualifier == "ForAllValues":
        return all(matches(value) for value in actual)
    if qualifier == "ForAnyValue":
        return any(matches(value) for value in actual)
    return len(actual) == 1 and matches(actual[0])


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: bool
    not_resources: bool
    conditions: Mapping[str, Mapping[str, Any]]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]) -> Statement:
        resolved = resolve(dict(raw), names)
        return cls(
            effect=str(resolved["Effect"]),
            actions=tuple(_as_list(resolved.get("Action", resolved.get("NotAction", [])))),
            resources=tuple(_as_list(resolved.get("Resource", resolved.get("NotResource", [])))),
            not_actions="NotAction" in resolved,
            not_resources="NotResource" in resolved,
            conditions=resolved.get("Condition", {}),
        )

    def matches(self, request: Request) -> bool | None:
        """Whether the statement applies to ``request``; None when a condition cannot be
        evaluated here."""
        action = any(_like(p, request.action, case_sensitive=False) for p in self.actions)
        resource = any(_like(p, request.resource) for p in self.resources)
        if action == self.not_actions or resource == self.not_resources:
            return False
        for operator, keys in self.conditions.items():
            for key, expected in keys.items():
                holds = _condition_holds(operator, key, expected, request.context)
                if holds is None:
                    return None
                if not holds:
                    return False
        return True


class Policy:
    """One principal's statements."""

    def __init__(self, statements: list[Statement]) -> None:
        self.statements = statements

    def decide(self, request: Request) -> tuple[bool, str]:
        """(allowed, why not)."""
        allowed = False
        for statement in self.statements:
            applies = statement.matches(request)
            if statement.effect == "Deny" and applies is not False:
                return False, "an explicit Deny in its policy refuses it"
            if statement.effect == "Allow" and applies:
                allowed = True
        return allowed, "" if allowed else "no statement of its policy allows it"


@dataclass
class Enforcer:
    place: Place
    policies: dict[str, Policy]

    def check(self, principal: str, prefix: str, operation: str, params: Mapping[str, Any]) -> None:
        """Raise AWS's access-denied error unless ``principal`` may make the call."""
        policy = self.policies.get(principal)
        for request in requests_for(self.place, prefix, operation, params):
            allowed, why = policy.decide(request) if policy else (False, "it has no policy")
            if not allowed:
                message = (
                    f"User: arn:aws:sts::{self.place.account}:assumed-role/{principal} is not "
                    f"authorized to perform: {request.action} on resource: {request.resource} "
                    f"because {why}"
                )
                log.warning("Access denied locally, as on AWS: %s", message)
                code = _DENIED_CODE.get(_PREFIX.get(prefix, prefix), "AccessDeniedException")
                status = 400 if code == "AccessDeniedException" else 403
                response: Any = {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
                raise ClientError(response, operation)


def load(
    names: Mapping[str, Mapping[str, str]],
    place: Place,
    path: Path = POLICIES,
) -> Enforcer:
    """The policies in ``path``, resolved with ``names`` (each reference's ``Ref`` and
    attributes, besides the pseudo parameters, which come from ``place``)."""
    extract = json.loads(path.read_text(encoding="utf-8"))
    names = {
        "AWS::Partition": {"Ref": "aws"},
        "AWS::Region": {"Ref": place.region},
        "AWS::AccountId": {"Ref": place.account},
        "AWS::URLSuffix": {"Ref": "amazonaws.com"},
        **names,
    }
    policies = {
        principal: Policy([Statement.parse(raw, names) for raw in statements])
        for principal, statements in extract["principals"].items()
    }
    topic_keys = {
        names[topic]["Ref"]: names[key]["Arn"]
        for topic, key in extract.get("topic_keys", {}).items()
        if topic in names and key in names
    }
    place = Place(
        region=place.region,
        account=place.account,
        stage=str(extract.get("stage", place.stage)),
        connections_api=place.connections_api,
        topic_keys=topic_keys,
    )
    return Enforcer(place, policies)


# The enforcer installed in this process, if any: the hooks look it up at each call.
_installed: list[Enforcer] = []


def _check(params: Mapping[str, Any], model: Any, principal: str | None = None, **_: Any) -> None:
    """botocore's ``before-parameter-build``: the call is checked, before it is sent, as the
    acting principal (or ``principal``) while an enforcer is installed."""
    principal = principal or _principal.get()
    if _installed and principal is not None:
        _installed[-1].check(principal, model.service_model.signing_name, model.name, params)


_HOOK = ("before-parameter-build", _check)


def install(enforcer: Enforcer) -> None:
    """Check every SDK call made from now on in this process (every botocore session created
    after this, and boto3's default one) while a principal acts."""
    import boto3

    _installed[:] = [enforcer]
    if _HOOK not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(_HOOK)
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register(*_HOOK, unique_id="toro-iam")


def uninstall() -> None:
    """Check nothing any more, and leave botocore's handlers as they were."""
    import boto3

    _installed.clear()
    if _HOOK in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.remove(_HOOK)
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.unregister(_HOOK[0], unique_id="toro-iam")


def bind(client: Any, principal: str) -> None:
    """Check every call of ``client`` as ``principal`` (the state machine's own client)."""
    client.meta.events.register(_HOOK[0], functools.partial(_check, principal=principal))


@contextmanager
def acting_as(principal: str) -> Iterator[None]:
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


def run_as(principal: str, function: Callable[..., T], *args: Any) -> T:
    with acting_as(principal):
        return function(*args)
