"""The CDK app: ``cdk.json`` context loaded explicitly, so tests and the CLI synthesize the same."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk

from cdk_app.config import StageConfig, load_context
from cdk_app.stack import ToroStack


def build_app(overrides: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    context = {**load_context(), **(overrides or {})}
    app = cdk.App(context=context, outdir=outdir)
    config = StageConfig.from_context(app.node.try_get_context)
    ToroStack(
        app,
        f"ToroAssistant-{config.stage}",
        config,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
        description=f"Toro Assistant ({config.stage}): asynchronous question answering",
    )
    return app


def main() -> None:
    """Synthesize into ``cdk.out`` (the CDK CLI sets CDK_OUTDIR when it runs the app)."""
    build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out")).synth()


if __name__ == "__main__":
    main()
