"""Every Lambda function, each with its own role holding only what it uses."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.constructs.function import ToroFunction
from cdk_app.constructs.messaging import dead_letter_queue
from cdk_app.nag import acknowledge
from cdk_app.preflight import layer_parameter
from handlers import FUNCTIONS, timeout_of

# Memory by what each function does (Lambda's CPU share grows with it):
# - the API hashes passwords with argon2 (64 MiB each, two at once) and wants the CPU for them;
# - call_openai spends its time waiting for the model over the network: little memory, since
#   it is billed for the whole wait (about 5 s a question);
# - the other tasks are short and keep 512 MB for the CPU that makes their cold starts quick.
MEMORY_MB = {"api": 1024, "call_openai": 256}
DEFAULT_MEMORY_MB = 512


class Secrets(Construct):
    """The two secrets. Values never appear in the template: one is generated, one is set."""

    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # CloudFormation deletes a secret at once, with no recovery window: kept like the table
        # when the stage is protected.
        keep = RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        self.openai_key = secretsmanager.Secret(
            self,
            "OpenAIKey",
            secret_name=f"toro/{config.stage}/openai-api-key",
            description="OpenAI API key: set with `aws secretsmanager put-secret-value`.",
            removal_policy=keep,
        )
        self.signing_key = secretsmanager.Secret(
            self,
            "TokenSigningKey",
            secret_name=f"toro/{config.stage}/token-signing-key",
            description="HS256 key that signs the API's tokens (generated).",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=keep,
        )
        acknowledge(
            self.openai_key,
            "SMG4",
            "OpenAI issues the key; it is rotated there and set here by an operator.",
        )
        acknowledge(
            self.signing_key,
            "SMG4",
            "Rotating the signing key logs every user out; it is rotated by redeploying a new "
            "value when needed, not on a schedule.",
        )


class Compute(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        if not config.asset_path.is_dir():
            raise FileNotFoundError(
                f"No Lambda code at {config.asset_path}: run `make build` first."
            )
        code = lambda_.Code.from_asset(str(config.asset_path))
        # Pinned by context for a region where the public parameter is missing, else looked up.
        layer_arn = config.powertools_layer_arn or ssm.StringParameter.value_for_string_parameter(
            self, layer_parameter(config.powertools_version)
        )
        layer = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)
        # The resources' variables come with their grants (cdk_app/constructs/access.py).
        common = {
            "OPENAI_MODEL": config.openai_model,
            "RECORD_TTL_DAYS": str(config.record_ttl_days),
        }
        # Asynchronous invocations (from SNS) that keep failing end here.
        self.async_dead_letters = dead_letter_queue(self, "AsyncInvokeDLQ")
        self.functions: dict[str, ToroFunction] = {}
        for name, handler in FUNCTIONS.items():
            environment = dict(common)
            if name in ("api", "websocket"):  # both check tokens (the latter, tickets)
                environment["CORS_ALLOW_ORIGINS"] = ",".join(config.cors_allow_origins)
            self.functions[name] = ToroFunction(
                self,
                name.title().replace("_", ""),
                config=config,
                name=name,
                handler=handler,
                code=code,
                layer=layer,
                environment=environment,
                timeout_seconds=timeout_of(name),
                memory_mb=MEMORY_MB.get(name, DEFAULT_MEMORY_MB),
                reserved_concurrency=(
                    config.call_openai_concurrency or None if name == "call_openai" else None
                ),
                dead_letter_queue=(
                    self.async_dead_letters if name in ("start_workflow", "notify_user") else None
                ),
            )

    def fn(self, name: str) -> lambda_.Function:
        return self.functions[name].function
