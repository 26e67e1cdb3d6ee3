"""The deployment's settings, per stage: ``stages/defaults.json``, then ``stages/<stage>.json``
where it exists, then ``cdk -c key=value`` (which wins)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import ceil
from pathlib import Path
from typing import Any

from handlers import FUNCTIONS, timeout_of
from state_machine.render import (
    EXPRESS_LIMIT_SECONDS,
    load_definition,
    task_functions,
    worst_case_seconds,
)

ROOT = Path(__file__).resolve().parent.parent
STAGES = ROOT / "stages"
DEFAULT_STAGE = "dev"
WORKFLOW_TYPES = ("STANDARD", "EXPRESS")
# Lambda function names are `toro-<stage>-<function>` and may have at most 64 characters; the
# state machine's `toro-<stage>-QuestionWorkflow-Standard` at most 80.
FUNCTION_NAME_LIMIT = 64
STATE_MACHINE_NAME_LIMIT = 80
MAX_STAGE_LENGTH = min(
    FUNCTION_NAME_LIMIT - len("toro--") - max(len(name) for name in FUNCTIONS),
    STATE_MACHINE_NAME_LIMIT - len("toro--QuestionWorkflow-Standard"),
)
# How much longer than its worst case the workflow may run before Step Functions ends it.
TIMEOUT_MARGIN = 1.2
# call_openai's reserved concurrency: a burst of questions waits in Step Functions' retries
# (Lambda.TooManyRequestsException) instead of taking the account's whole pool from the API.
DEFAULT_CALL_OPENAI_CONCURRENCY = 20
# The evaluation windows AWS WAF's rate-based rules accept.
WAF_WINDOWS = (60, 120, 300, 600)
# Requests of every kind one client address may send in the window (about 7 a second over 5
# minutes): far above what a person using the page or a polling client sends.
WAF_RATE_LIMIT = 2000


def check_stage(stage: str) -> str:
    """A stage names the stack, every resource and its settings file: letters and digits."""
    if not stage.isalnum():
        raise ValueError(f"stage must be letters and digits, not {stage!r}")
    if len(stage) > MAX_STAGE_LENGTH:
        raise ValueError(
            f"stage {stage!r} is {len(stage)} characters; at most {MAX_STAGE_LENGTH} keep "
            f"every name within AWS's limits (function names: {FUNCTION_NAME_LIMIT})"
        )
    return stage


def _read(path: Path) -> dict[str, Any]:
    settings = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold one JSON object of settings")
    return settings


def load_context(stage: str = DEFAULT_STAGE, directory: Path = STAGES) -> dict[str, Any]:
    """Every setting of one stage: ``defaults.json``, overlaid with ``<stage>.json`` when the
    stage has one. A key that ``defaults.json`` does not name is refused (a misspelt setting
    would otherwise be ignored)."""
    defaults = _read(directory / "defaults.json")
    own_file = directory / f"{check_stage(stage)}.json"
    own = _read(own_file) if own_file.is_file() else {}
    unknown = sorted(set(own) - set(defaults))
    if unknown:
        raise ValueError(
            f"{own_file}: unknown settings {unknown}; the settings are the keys of "
            f"{directory / 'defaults.json'}"
        )
    return {**defaults, **own, "stage": stage}


def deletion_protection_of(stage: str, setting: Any) -> bool:
    """An explicit setting wins; unset, every stage but ``dev`` is protected."""
    if setting is None or setting == "":
        return stage != DEFAULT_STAGE
    return _flag(setting)


def workflow_worst_case_seconds(definition: dict[str, Any] | None = None) -> float:
    """The longest the question workflow can run, from its definition and the functions'
    timeouts (every retry taken, every attempt running until Lambda ends it)."""
    definition = json.loads(load_definition()) if definition is None else definition
    per_state = {state: timeout_of(fn) for state, fn in task_functions(definition).items()}
    return worst_case_seconds(definition, per_state)


def refuse_a_timeout_within_the_worst_case(definition: dict[str, Any] | None = None) -> None:
    """The workflow's own ``TimeoutSeconds`` ends an execution that outlives every retry (a task
    that never returns, a service that hangs), so that ``ExecutionsTimedOut`` can page and the
    sweeper can record its question failed. Without one, Step Functions waits up to a year.
    It must outlast the worst case by ``TIMEOUT_MARGIN``: a slow but healthy execution (every
    retry taken, each attempt running until Lambda ends it, plus transitions and cold starts)
    is never cut short."""
    definition = json.loads(load_definition()) if definition is None else definition
    timeout = definition.get("TimeoutSeconds")
    worst = workflow_worst_case_seconds(definition)
    if not isinstance(timeout, int) or timeout < worst * TIMEOUT_MARGIN:
        raise ValueError(
            f"The workflow's TimeoutSeconds is {timeout}; it must be a number of seconds at "
            f"least {TIMEOUT_MARGIN:.0%} of its worst case ({worst:.0f} s, every retry taken): "
            f"set it to {ceil(worst * TIMEOUT_MARGIN / 60) * 60} or more in "
            "state_machine/question_workflow.asl.json."
        )


def refuse_express_beyond_its_limit() -> None:
    """EXPRESS executions stop at 5 minutes with no Catch: a question whose retries run longer
    would be left processing for good. Refused, saying why, until the retries fit."""
    worst = workflow_worst_case_seconds()
    if worst > EXPRESS_LIMIT_SECONDS:
        raise ValueError(
            f"workflowType=EXPRESS is refused: the workflow's retries can take up to "
            f"{worst:.0f} s, and an EXPRESS execution is stopped after {EXPRESS_LIMIT_SECONDS} s "
            "without running its Catch, which would leave the question processing for good. "
            "Deploy STANDARD (the default), or bring the retry budget in "
            "state_machine/question_workflow.asl.json under the limit."
        )


def _or_default(value: Any, default: int) -> Any:
    return default if value is None or value == "" else value


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class StageConfig:
    stage: str
    workflow_type: str
    deletion_protection: bool
    cors_allow_origins: tuple[str, ...]
    answers_email: str
    alarm_email: str
    openai_model: str
    powertools_version: str
    log_retention_days: int
    api_throttle_rate_limit: int
    api_throttle_burst_limit: int
    waf_enabled: bool
    waf_sign_in_rate_limit: int
    waf_rate_limit: int
    waf_evaluation_window_seconds: int
    api_gateway_account_role: bool
    powertools_layer_arn: str
    asset_path: Path
    sweeper_interval_minutes: int = 1
    record_ttl_days: int = 0
    # Instances of call_openai that may run at once (0: no reservation); the rest of the
    # account's concurrency stays for the API and the other functions.
    call_openai_concurrency: int = DEFAULT_CALL_OPENAI_CONCURRENCY

    @classmethod
    def from_context(cls, get: Any) -> StageConfig:
        """``get`` reads one context key (``node.try_get_context``)."""
        workflow_type = str(get("workflowType")).upper()
        if workflow_type not in WORKFLOW_TYPES:
            raise ValueError(f"workflowType must be one of {WORKFLOW_TYPES}, not {workflow_type}")
        if workflow_type == "EXPRESS":
            refuse_express_beyond_its_limit()
        refuse_a_timeout_within_the_worst_case()
        stage = check_stage(str(get("stage") or DEFAULT_STAGE))
        asset = Path(str(get("assetPath")))
        window = int(get("wafEvaluationWindowSeconds"))
        if window not in WAF_WINDOWS:
            raise ValueError(f"wafEvaluationWindowSeconds must be one of {WAF_WINDOWS}")
        sweep = int(_or_default(get("sweeperIntervalMinutes"), 1))
        if not 1 <= sweep <= 60:
            raise ValueError("sweeperIntervalMinutes must be between 1 and 60")
        ttl_days = int(_or_default(get("recordTtlDays"), 0))
        model_calls = int(
            _or_default(get("callOpenaiConcurrency"), DEFAULT_CALL_OPENAI_CONCURRENCY)
        )
        if not 0 <= model_calls <= 1000:
            raise ValueError("callOpenaiConcurrency must be between 0 (no reservation) and 1000")
        if ttl_days < 0:
            raise ValueError("recordTtlDays must be 0 (keep) or a number of days")
        rate = int(get("wafSignInRateLimit"))
        if not 10 <= rate <= 2_000_000_000:
            raise ValueError("wafSignInRateLimit must be between 10 and 2,000,000,000")
        general_rate = int(_or_default(get("wafRateLimit"), WAF_RATE_LIMIT))
        if not 10 <= general_rate <= 2_000_000_000:
            raise ValueError("wafRateLimit must be between 10 and 2,000,000,000")
        if general_rate < rate:
            raise ValueError(
                f"wafRateLimit ({general_rate}) counts every request of an address, the sign-in "
                f"ones too: below wafSignInRateLimit ({rate}) the sign-in rule could never act"
            )
        return cls(
            stage=stage,
            workflow_type=workflow_type,
            deletion_protection=deletion_protection_of(stage, get("deletionProtection")),
            cors_allow_origins=tuple(
                o.strip() for o in str(get("corsAllowOrigins") or "").split(",") if o.strip()
            ),
            answers_email=str(get("answersEmail") or ""),
            alarm_email=str(get("alarmEmail") or ""),
            openai_model=str(get("openaiModel")),
            powertools_version=str(get("powertoolsVersion")),
            log_retention_days=int(get("logRetentionDays")),
            api_throttle_rate_limit=int(get("apiThrottleRateLimit")),
            api_throttle_burst_limit=int(get("apiThrottleBurstLimit")),
            waf_enabled=_flag(get("wafEnabled")),
            waf_sign_in_rate_limit=rate,
            waf_rate_limit=general_rate,
            waf_evaluation_window_seconds=window,
            api_gateway_account_role=_flag(get("apiGatewayAccountRole")),
            powertools_layer_arn=str(get("powertoolsLayerArn") or ""),
            asset_path=asset if asset.is_absolute() else ROOT / asset,
            sweeper_interval_minutes=sweep,
            record_ttl_days=ttl_days,
            call_openai_concurrency=model_calls,
        )
