"""The IAM policies of the synthesized template, as the embedded runtime enforces them.

``python -m cdk_app.policies`` synthesizes the app (no Lambda asset needed) and writes, for each
role the runtime plays, the statements the template gives it, to ``local/iam_policies.json``:
every function's role, the state machine's and the sweeper schedule's. References to the stack's
resources are named by what they are (``table``, ``questions-topic``, ``function:call_openai``),
not by logical ids, so the runtime can resolve them to its own ARNs; a reference to anything
else keeps its construct path and resolves to nothing, so a statement about it allows nothing
locally. ``--check`` exits non-zero when the file differs from the template (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import CfnResource, Stack
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "local" / "iam_policies.json"
LAMBDA_TYPES = ("AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::Lambda::Alias")


def _logical_id(construct: Construct) -> str:
    default = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    assert isinstance(default, CfnResource), construct.node.path
    return Stack.of(construct).get_logical_id(default)


def labels(stack: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(logical id -> name, role logical id -> principal) for ``ToroStack`` ``stack``: the
    declared resources by what they are, the functions (with their versions and aliases) by
    name, anything else by its construct path."""
    names: dict[str, str] = {
        _logical_id(child): "other:" + child.node.path.split("/", 1)[-1].removesuffix("/Resource")
        for child in stack.node.find_all()
        if isinstance(child, CfnResource)
    }
    names.update(
        (_logical_id(construct), str(resource))
        for resource, construct in stack.targets.constructs().items()
    )
    names[_logical_id(stack.targets.questions_topic.master_key)] = "topics-key"
    principals: dict[str, str] = {}
    for name, function in stack.compute.functions.items():
        for child in function.node.find_all():
            if isinstance(child, CfnResource) and child.cfn_resource_type in LAMBDA_TYPES:
                names[_logical_id(child)] = f"function:{name}"
        principals[_logical_id(function.role)] = f"function:{name}"
    principals[_logical_id(stack.workflow.state_machine.role)] = "workflow"
    return names, principals


def _rename(value: Any, names: dict[str, str]) -> Any:
    def name(logical_id: str) -> str:
        return logical_id if logical_id.startswith("AWS::") else names.get(logical_id, "other:?")

    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return {"Ref": name(value["Ref"])}
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return {"Fn::GetAtt": [name(logical_id), attribute]}
        return {key: _rename(inner, names) for key, inner in value.items()}
    if isinstance(value, list):
        return [_rename(inner, names) for inner in value]
    return value


def extract(
    template: dict[str, Any], names: dict[str, str], roles: dict[str, str]
) -> dict[str, Any]:
    """Each principal's statements, with the template's references renamed."""
    resources = template["Resources"]
    # The schedule that runs the sweeper invokes it with a role of its own.
    for resource in resources.values():
        if resource["Type"] == "AWS::Scheduler::Schedule":
            roles[resource["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]] = "scheduler"
    principals: dict[str, list[Any]] = {principal: [] for principal in sorted(roles.values())}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for role in resource["Properties"].get("Roles", []):
            principal = roles.get(role.get("Ref", ""))
            if principal is not None:
                statements = resource["Properties"]["PolicyDocument"]["Statement"]
                principals[principal].extend(_rename(statements, names))
    topic_keys = {}
    for logical_id, resource in resources.items():
        key = (
            resource["Properties"].get("KmsMasterKeyId")
            if resource["Type"] == "AWS::SNS::Topic"
            else None
        )
        if key is not None and not names[logical_id].startswith("other:"):
            topic_keys[names[logical_id]] = _rename(key, names)["Fn::GetAtt"][0]
    return {"principals": principals, "topic_keys": topic_keys}


def synthesized() -> tuple[dict[str, Any], dict[str, Any]]:
    """The template of the ``dev`` stage as ``stages/`` configures it, and its policies."""
    from aws_cdk.assertions import Template

    from cdk_app.app import build_app

    with tempfile.TemporaryDirectory() as tmp:
        asset = Path(tmp) / "asset"
        asset.mkdir()
        (asset / "placeholder.py").write_text("# the policies do not depend on the code\n")
        app = build_app({"assetPath": str(asset)}, outdir=str(Path(tmp) / "cdk.out"))
        [stack] = [child for child in app.node.children if isinstance(child, Stack)]
        template = dict(Template.from_stack(stack).to_json())
        names, roles = labels(stack)
    policies = extract(template, names, roles)
    policies["stage"] = stack.node.try_get_context("stage")
    return template, policies


def synthesize() -> dict[str, Any]:
    """The policies of the ``dev`` stage."""
    return synthesized()[1]


def render(policies: dict[str, Any]) -> str:
    return json.dumps(policies, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    parser.add_argument("--output", type=Path, default=POLICIES)
    args = parser.parse_args(argv)
    text = render(synthesize())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            sys.stderr.write(
                f"{args.output} differs from the synthesized template's policies: "
                "run `make policies` and commit the result.\n"
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"Wrote the template's policies to {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
