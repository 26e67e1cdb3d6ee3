"""``toro dev``'s data across restarts: the tables' items in a file under ``.toro/``.

The embedded AWS runtime keeps everything in memory, so without this a restart would lose every
account, conversation and answer. On start, ``LocalData.restore`` puts back the items saved by
the last run; while running, they are saved every ``period`` seconds and once more on a clean
stop (Ctrl-C). A ``kill -9`` loses at most the changes of the last period. The file is written
whole, to a temporary name first, so a crash mid-write leaves the previous one intact.

What is not kept: Step Functions' execution histories, and messages in flight in SNS and SQS.
A question still open at the stop has lost its execution; the recovery sweeper re-sends it
(pending) or records it failed (processing), as on AWS.

The signing key of the tokens is kept next to the data (readable by its owner only), so that
sessions, and the page's refresh cookie, survive a restart too.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger("toro.dev")
DEFAULT_DIRECTORY = Path(".toro")
DATA_FILE = "table.jsonl"
KEY_FILE = "signing-key"
# 1: one table's items, one a line. 2: ``{"table", "item"}`` a line, for the main and the accounts
# tables; a file of format 1 is still read, its account items put in the accounts table.
FORMAT = 2
READABLE_FORMATS = (1, 2)


def _to_json(value: Any) -> Any:
    """A DynamoDB attribute value as JSON (binary as base64)."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {key: _to_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_to_json(inner) for inner in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {key: _from_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_from_json(inner) for inner in value]
    return value


def signing_key(directory: Path, *, fresh: bool) -> str:
    """The development signing key kept in ``directory`` (a new one when ``fresh`` or none)."""
    path = directory / KEY_FILE
    if not fresh and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    return key


def is_account_item(item: dict[str, Any]) -> bool:
    """Whether a stored item belongs in the accounts table (core/accounts.py's items)."""
    pk, sk = str(item["pk"]["S"]), str(item["sk"]["S"])
    if pk.startswith("USERNAME#"):
        return sk == "USERNAME"
    return pk.startswith("USER#") and (sk == "PROFILE" or sk.startswith("SESSION#"))


class LocalData:
    def __init__(
        self,
        directory: Path,
        client: DynamoDBClient,
        table: str,
        accounts_table: str,
        period: float = 30.0,
    ) -> None:
        self.path = directory / DATA_FILE
        self._client = client
        self._table = table
        self._accounts_table = accounts_table
        self._period = period
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def restore(self) -> int:
        """Put back the items the last run saved; how many."""
        if not self.path.is_file():
            return 0
        lines = self.path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("format") not in READABLE_FORMATS:
            raise RuntimeError(
                f"{self.path} is not a data file this version can read; start with --fresh "
                "(or move it away) to begin empty."
            )
        rows = [_from_json(json.loads(line)) for line in lines[1:] if line.strip()]
        if header["format"] == 1:
            rows = [{"table": self._table_for(item), "item": item} for item in rows]
        by_table: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_table.setdefault(self._known(row["table"]), []).append(row["item"])
        for table, items in by_table.items():
            for start in range(0, len(items), 25):
                batch = items[start : start + 25]
                request: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in batch]}
                while request:
                    done = self._client.batch_write_item(RequestItems=request)
                    request = dict(done.get("UnprocessedItems") or {})
        return len(rows)

    def _table_for(self, item: dict[str, Any]) -> str:
        return self._accounts_table if is_account_item(item) else self._table

    def _known(self, table: str) -> str:
        if table not in (self._table, self._accounts_table):
            raise RuntimeError(f"{self.path} holds items of an unknown table {table!r}")
        return table

    def save(self) -> int:
        """Write every item of the tables to the file; how many."""
        with self._lock:
            rows: list[dict[str, Any]] = []
            for table in (self._table, self._accounts_table):
                for page in self._client.get_paginator("scan").paginate(TableName=table):
                    rows.extend({"table": table, "item": item} for item in page.get("Items", []))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as file:
                file.write(json.dumps({"format": FORMAT}) + "\n")
                for row in rows:
                    file.write(json.dumps(_to_json(row), separators=(",", ":")) + "\n")
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path)
            return len(rows)

    def start(self) -> None:
        """Save every ``period`` seconds until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="local-data", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.save()
            except Exception:  # keep saving; say why this one failed
                log.exception("Could not save the local data to %s", self.path)

    def stop(self) -> int:
        """Stop the periodic saves and save once more; how many items were saved."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self.save()
