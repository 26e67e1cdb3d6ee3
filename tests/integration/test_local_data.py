"""toro dev's saved data: both tables kept, and a file saved before the accounts table read."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws

from local.persistence import DATA_FILE, LocalData
from local.provision import ACCOUNTS_TABLE_NAME, TABLE_NAME, create_tables


def item(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


ACCOUNT_ITEMS = [
    item("USERNAME#ana", "USERNAME"),
    item("USER#1", "PROFILE"),
    item("USER#1", "SESSION#s1"),
]
OTHER_ITEMS = [item("USER#1", "Q#q1"), item("USER#1", "CONV#s1"), item("USERNAME#ana", "RATE#x")]


def keys(table: str) -> list[tuple[str, str]]:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return sorted((found["pk"]["S"], found["sk"]["S"]) for found in items)


def expected(items: list[dict[str, dict[str, str]]]) -> list[tuple[str, str]]:
    return sorted((found["pk"]["S"], found["sk"]["S"]) for found in items)


def test_a_file_of_the_single_table_puts_account_items_in_the_accounts_table(
    tmp_path: Path,
) -> None:
    lines = [json.dumps({"format": 1, "table": TABLE_NAME})]
    lines += [json.dumps(found) for found in ACCOUNT_ITEMS + OTHER_ITEMS]
    (tmp_path / DATA_FILE).write_text("\n".join(lines) + "\n")
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client)
        data = LocalData(tmp_path, client, TABLE_NAME, ACCOUNTS_TABLE_NAME)
        assert data.restore() == 6
        assert keys(ACCOUNTS_TABLE_NAME) == expected(ACCOUNT_ITEMS)
        assert keys(TABLE_NAME) == expected(OTHER_ITEMS)
        assert data.save() == 6
    saved = (tmp_path / DATA_FILE).read_text().splitlines()
    assert json.loads(saved[0]) == {"format": 2}
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client)
        assert LocalData(tmp_path, client, TABLE_NAME, ACCOUNTS_TABLE_NAME).restore() == 6
        assert keys(ACCOUNTS_TABLE_NAME) == expected(ACCOUNT_ITEMS)
        assert keys(TABLE_NAME) == expected(OTHER_ITEMS)
