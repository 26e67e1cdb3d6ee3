"""The CDK app. Its settings, lowest first: ``stages/defaults.json``, ``stages/<stage>.json``, then
the context given to the app (``cdk -c key=value``, or the tests' overrides), so tests and the CLI
synthesize the same."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from cdk_app.config import DEFAULT_STAGE, StageConfig, load_context
from cdk_app.stack import ToroStack


@jsii.implements(cdk.IAnyProducer)
class _DependsOnBesides:
    """A resource's DependsOn without one resource: rendered after the CDK has turned every
    construct dependency into DependsOn, so it keeps all the others."""

    def __init__(self, resource: cdk.CfnResource, implied: cdk.CfnResource) -> None:
        self._resource = resource
        self._implied = implied.node.path

    def produce(self, context: cdk.IResolveContext) -> list[str] | None:
        kept = sorted(
            (
                d
                for d in self._resource.obtain_dependencies()
                if isinstance(d, cdk.CfnResource) and d.node.path != self._implied
            ),
            key=lambda d: d.node.path,
        )
        return [d.logical_id for d in kept] or None


@jsii.implements(cdk.IAspect)
class DropDependsOnImpliedByRole:
    """The CDK makes each function and state machine depend on its whole role, though its
    ``Role``/``RoleArn`` already names the role with ``Fn::GetAtt``: CloudFormation orders the two
    by that reference, and cfn-lint warns of the redundant DependsOn (W3005). The role's policy
    is not referenced, so the dependency on it stays."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, (lambda_.Function, sfn.StateMachine)) or node.role is None:
            return
        resource = node.node.default_child
        role = node.role.node.default_child
        if isinstance(resource, cdk.CfnResource) and isinstance(role, cdk.CfnResource):
            resource.add_override(
                "DependsOn", cdk.Lazy.uncached_any(_DependsOnBesides(resource, role))
            )


def _settle(app: cdk.App) -> None:
    """Fill in every setting the app was not given, from the stage's files."""
    stage = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    for key, value in load_context(stage).items():
        if value is not None and app.node.try_get_context(key) is None:
            app.node.set_context(key, value)


def _say_what_the_stage_gets(stack: cdk.Stack, config: StageConfig, protection: Any) -> None:
    """Printed by ``cdk synth``/``deploy``: a stage other than dev is protected unless told not
    to be, and one without an alarm subscriber is told so."""
    if config.stage == DEFAULT_STAGE:
        return
    notes = cdk.Annotations.of(stack)
    if not config.deletion_protection:
        notes.add_warning_v2(
            "toro:deletion-protection-off",
            f"Stage {config.stage}: deletionProtection=false, so the table and both secrets are "
            "deleted with the stack.",
        )
    elif protection is None:
        notes.add_info(
            f"Stage {config.stage}: deletionProtection=true by default (every stage but "
            f"{DEFAULT_STAGE}): the table and both secrets are retained when the stack goes."
        )
    if not config.alarm_email:
        notes.add_warning_v2(
            "toro:no-alarm-email",
            f"Stage {config.stage}: no alarmEmail, so the alarm topic has no subscriber: set it "
            f"in stages/{config.stage}.json (or -c alarmEmail=...).",
        )


def build_app(overrides: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context=overrides or {}, outdir=outdir)
    _settle(app)
    protection = app.node.try_get_context("deletionProtection")
    config = StageConfig.from_context(app.node.try_get_context)
    stack = ToroStack(
        app,
        f"ToroAssistant-{config.stage}",
        config,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
        description=f"Toro Assistant ({config.stage}): asynchronous question answering",
    )
    _say_what_the_stage_gets(stack, config, protection)
    cdk.Aspects.of(app).add(DropDependsOnImpliedByRole())
    return app


def main() -> None:
    """Synthesize into ``cdk.out`` (the CDK CLI sets CDK_OUTDIR when it runs the app)."""
    build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out")).synth()


if __name__ == "__main__":
    main()
