"""``toro dev`` stopped and started again: at once on the same ports, with the same data."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ulid import ULID

from core.models import Question
from core.repository import QuestionRepository
from local import http
from local.dev import free_port
from tests.system.test_toro_dev import PASSWORD, User
from tests.toro_dev import running_dev


def _login(api_url: str, username: str) -> int:
    credentials = {"username": username, "password": PASSWORD}
    return http.call("POST", f"{api_url}/api/v1/auth/login", credentials).status


def test_a_restart_works_at_once_and_keeps_accounts_questions_and_sessions(
    tmp_path: Path,
) -> None:
    ports = (free_port(), free_port())
    with running_dev(tmp_path, ports=ports) as dev:
        ana = User(dev, "ana-restart")
        asked = ana.ask("O que é o Tesouro Selic?")
        assert ana.wait_answered(asked)["status"] == "answered"
    # Stopped with Ctrl-C; started again at once, on the same ports (no "already in use").
    with running_dev(tmp_path, ports=ports, log_name="again.log") as dev:
        assert f"{ports[1]}" in dev.api_url
        assert "items restored" in dev.log.read_text()
        # The token issued before the restart still works: the session survived.
        listed = http.call(
            "GET", f"{dev.api_url}/api/v1/questions/{ana.session}/{asked}", token=ana.token
        )
        assert listed.status == 200, listed.body
        assert listed.body["status"] == "answered"
        assert listed.body["answer"]
        assert _login(dev.api_url, "ana-restart") == 200
    # --fresh starts empty.
    with running_dev(tmp_path, ports=ports, args=("--fresh",), log_name="fresh.log") as dev:
        assert _login(dev.api_url, "ana-restart") == 401
        stale = http.call(
            "GET", f"{dev.api_url}/api/v1/questions/{ana.session}/{asked}", token=ana.token
        )
        assert stale.status == 401


def test_a_kill_loses_at_most_the_last_period(tmp_path: Path) -> None:
    env = {"TORO_SAVE_SECONDS": "1"}
    with running_dev(tmp_path, env) as dev:
        User(dev, "bia-killed")
        time.sleep(2.5)  # more than one period
        dev.process.send_signal(signal.SIGKILL)
        dev.process.wait(timeout=10)
    with running_dev(tmp_path, env, log_name="after-kill.log") as dev:
        assert _login(dev.api_url, "bia-killed") == 200


def test_toro_dev_runs_the_recovery_sweeper_on_its_schedule(tmp_path: Path) -> None:
    """A question stored but never sent (the API's publish failed) is answered by itself."""
    env = {"TORO_SWEEP_SECONDS": "1", "SWEEPER_GRACE_SECONDS": "10"}
    with running_dev(tmp_path, env) as dev:
        ana = User(dev, "ana-sweeper")
        client = dev.dynamodb()
        minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        question = Question(
            question_id=str(ULID.from_datetime(minute_ago)),
            user_id=ana.user_id,
            session_id=ana.session,
            text="O que é o Tesouro Selic?",
            created_at=minute_ago,
            updated_at=minute_ago,
        )
        QuestionRepository(client, "toro-assistant").create(question)
        answered = ana.wait_answered(question.question_id, timeout=60)
        assert answered["status"] == "answered"
        assert "Question sent again" in dev.log.read_text()
