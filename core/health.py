"""Can the service reach what it needs?"""

from __future__ import annotations

from core import clients
from core.aws_errors import aws_call
from core.settings import get_settings


@aws_call
def check_table() -> None:
    """DependencyUnavailable/DependencyError when the table cannot be read."""
    clients.dynamodb().describe_table(TableName=get_settings().table_name)
