"""Can the service reach what it needs?"""

from __future__ import annotations

from core import clients
from core.aws_errors import aws_call
from core.errors import DependencyError, DependencyUnavailable
from core.settings import get_settings


def check_table() -> None:
    """DependencyUnavailable when the table cannot be read, whatever the reason."""
    try:
        _describe_table()
    except DependencyError as exc:
        raise DependencyUnavailable(f"The table is not reachable: {exc.message}") from exc


@aws_call
def _describe_table() -> None:
    clients.dynamodb().describe_table(TableName=get_settings().table_name)
