"""Logger, Tracer and Metrics: one instance each, shared by every handler.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE; the defaults below serve tests and the embedded runtime.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "toro-assistant"
NAMESPACE = "ToroAssistant"

_service = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE)
_namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)

logger = Logger(service=_service)
tracer = Tracer(service=_service)
metrics = Metrics(namespace=_namespace, service=_service)

__all__ = ["NAMESPACE", "SERVICE", "MetricUnit", "logger", "metrics", "tracer"]
