"""The whole system as a user meets it: ``toro dev`` running, driven over HTTP and by the CLI."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from local import http
from local.child import TORO
from local.functions import FUNCTIONS
from tests.conftest import EVENTS, SAMPLE_PRECONDITION
from tests.toro_dev import Dev, clean_environment

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:QuestionWorkflow"
PASSWORD = "correct horse battery"


class User:
    def __init__(self, dev: Dev, username: str) -> None:
        self.base = f"{dev.api_url}/api/v1"
        credentials = {"username": username, "password": PASSWORD}
        assert http.call("POST", f"{self.base}/auth/register", credentials).status == 201
        login = http.call("POST", f"{self.base}/auth/login", credentials)
        assert login.status == 200
        self.token = login.body["access_token"]
        self.session = login.body["session_id"]
        # The subject of the token: the user's id in the table's keys.
        self.user_id = str(jwt.decode(self.token, options={"verify_signature": False})["sub"])

    def ask(self, question: str, session_id: str | None = None) -> str:
        body = {"question": question, **({"session_id": session_id} if session_id else {})}
        response = http.call("POST", f"{self.base}/questions", body, self.token)
        assert response.status == 202, response.body
        return str(response.body["question_id"])

    def new_conversation(self) -> str:
        response = http.call("POST", f"{self.base}/sessions", {}, self.token)
        assert response.status == 201, response.body
        return str(response.body["session_id"])

    def wait_answered(self, question_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = http.call(
                "GET", f"{self.base}/questions/{self.session}/{question_id}", token=self.token
            )
            body: dict[str, Any] = response.body
            if body["status"] in ("answered", "failed", "rejected"):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.2)

    def notifications(self) -> dict[str, Any]:
        body: dict[str, Any] = http.call("GET", f"{self.base}/notifications", token=self.token).body
        return body


def test_a_new_user_asks_in_both_languages_and_gets_answers_with_sources(dev: Dev) -> None:
    ana = User(dev, "ana")
    portuguese = ana.ask("Quanto rende o Tesouro Selic?")
    # In a conversation of its own: in the same one, it would be a follow-up of the first.
    english = ana.ask("What happens to my money if the bank goes bust?", ana.new_conversation())

    pt_answer = ana.wait_answered(portuguese)
    en_answer = ana.wait_answered(english)

    assert pt_answer["status"] == en_answer["status"] == "answered"
    assert pt_answer["sources"][0]["id"] == "tesouro-selic"
    assert pt_answer["sources"][0]["title"] == "Tesouro Selic"
    assert "[1]" in pt_answer["answer"] and "Fontes:" not in pt_answer["answer"]
    assert en_answer["sources"][0] == {
        "id": "fgc",
        "title": "FGC (Brazilian deposit guarantee fund)",
        "url": "https://www.fgc.org.br/",
    }
    assert pt_answer["grounded"] is en_answer["grounded"] is True
    assert pt_answer["kb_version"].startswith("kb-")
    assert pt_answer["model"] == "toro-offline"
    assert pt_answer["prompt_tokens"] > 0 and pt_answer["completion_tokens"] > 0

    deadline = time.monotonic() + 10
    while ana.notifications()["unread_count"] < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    notifications = ana.notifications()
    assert notifications["unread_count"] == 2
    assert {n["question_id"] for n in notifications["items"]} == {portuguese, english}

    sfn = boto3.client("stepfunctions", endpoint_url=dev.aws_endpoint)
    names = {
        e["name"]: e["status"]
        for e in sfn.list_executions(stateMachineArn=STATE_MACHINE)["executions"]
    }
    assert names[portuguese] == names[english] == "SUCCEEDED"


def test_an_unrelated_question_gets_an_honest_dont_know(dev: Dev) -> None:
    bia = User(dev, "bia")
    answer = bia.wait_answered(bia.ask("Who wrote Hamlet?"))
    assert answer["status"] == "answered"
    assert answer["answer"].startswith("I do not have that information")
    assert answer["sources"] == [] and answer["grounded"] is False


def test_a_follow_up_in_a_new_conversation_is_answered_from_it(dev: Dev) -> None:
    """The issue's case: "E eu pago imposto nela?" after "O que é uma LCI?"."""
    dani = User(dev, "dani")
    conversation = dani.new_conversation()
    first = dani.wait_answered(dani.ask("O que é uma LCI?", conversation))
    follow_up = dani.wait_answered(dani.ask("E eu pago imposto nela?", conversation))
    assert first["sources"][0]["id"] == "lci-lca"
    cited = [source["id"] for source in follow_up["sources"]]
    assert cited and set(cited) <= {"lci-lca", "isencoes-ir", "ir-renda-fixa"}, cited
    assert "isent" in follow_up["answer"]
    # The same words as a first question of another conversation find nothing to lean on.
    alone = dani.wait_answered(dani.ask("E eu pago imposto nela?"))
    assert "lci-lca" not in [source["id"] for source in alone["sources"]]

    listed = http.call("GET", f"{dani.base}/sessions", token=dani.token).body["items"]
    assert [(c["session_id"], c["title"], c["question_count"]) for c in listed] == [
        (conversation, "O que é uma LCI?", 2),
        (dani.session, "E eu pago imposto nela?", 1),
    ]
    thread = http.call("GET", f"{dani.base}/questions/{conversation}", token=dani.token).body
    assert [q["question"] for q in thread["items"]] == [
        "E eu pago imposto nela?",
        "O que é uma LCI?",
    ]


def test_toro_ask_prints_the_answer_and_its_sources(dev: Dev) -> None:
    result = dev.toro("ask", "O que é o FGC e quanto ele garante?", "--user", "cli-user")
    assert result.returncode == 0, result.stderr
    assert "answered" in result.stdout
    assert "[1] FGC (Fundo Garantidor de Créditos)  (fgc)" in result.stdout
    assert "250" in result.stdout
    assert "followed live, over the WebSocket" in result.stdout


def test_toro_ask_exits_non_zero_when_the_question_is_refused(dev: Dev) -> None:
    result = dev.toro("ask", "   ", "--user", "cli-user")
    assert result.returncode == 1
    assert "not accepted" in result.stderr


PRECONDITION = SAMPLE_PRECONDITION


def _reset_sample_question(
    dev: Dev, status: QuestionStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The question the sample events name, stored afresh in ``status``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", dev.aws_endpoint)
    from core import reset

    reset.clear_caches()
    boto3.client("dynamodb").delete_item(
        TableName="toro-assistant",
        Key={"pk": {"S": "USER#ana-sample"}, "sk": {"S": "Q#01JDXQ3M7T4W5Y8Z9A0B1C2D3E"}},
    )
    repository = QuestionRepository()
    repository.create(
        Question(
            question_id="01JDXQ3M7T4W5Y8Z9A0B1C2D3E",
            user_id="ana-sample",
            session_id="01JDXQ2ZSESSIONANA000000",
            text="O que é o Tesouro Selic?",
        )
    )
    path = {
        QuestionStatus.PENDING: [],
        QuestionStatus.PROCESSING: [QuestionStatus.PROCESSING],
        QuestionStatus.ANSWERED: [QuestionStatus.PROCESSING, QuestionStatus.ANSWERED],
    }[status]
    for step in path:
        repository.transition("ana-sample", "01JDXQ3M7T4W5Y8Z9A0B1C2D3E", step, answer="x")


def _sample_user(path: Path, tmp_path: Path) -> Path:
    """The sample event with its user renamed, so it cannot clash with the API tests' users."""
    text = (
        path.read_text().replace('"ana"', '"ana-sample"').replace('\\"ana\\"', '\\"ana-sample\\"')
    )
    copy = tmp_path / path.parent.name / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text)
    return copy


def test_toro_invoke_runs_every_sample_event(
    dev: Dev, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = sorted(PRECONDITION, key=lambda h: h == "start_workflow")  # it starts a run: last
    ran = 0
    for handler in handlers:
        for path in sorted((EVENTS / handler).glob("*.json")):
            _reset_sample_question(dev, PRECONDITION[handler], monkeypatch)
            result = dev.toro("invoke", handler, str(_sample_user(path, tmp_path)))
            assert result.returncode == 0, (handler, path.name, result.stdout, result.stderr)
            assert f"{handler} <- {path.name}" in result.stdout
            ran += 1
    for function in ("api", "websocket"):  # API Gateway's proxy events
        for path in sorted((EVENTS / function).glob("*.json")):
            result = dev.toro("invoke", function, str(path))
            assert result.returncode == 0, (path.name, result.stderr)
            assert '"statusCode"' in result.stdout
            ran += 1
    assert set(FUNCTIONS) == {*PRECONDITION, "api", "websocket"}
    assert ran == sum(1 for _ in EVENTS.glob("*/*.json"))


def test_toro_invoke_names_the_valid_choices(dev: Dev) -> None:
    unknown = dev.toro("invoke", "no_such_handler")
    assert unknown.returncode == 2
    assert "persist_answer" in unknown.stderr
    missing = dev.toro("invoke", "persist_answer", "nowhere.json")
    assert missing.returncode == 2
    assert "events/persist_answer/task.json" in missing.stderr


def test_toro_executions_list_and_show(dev: Dev) -> None:
    carla = User(dev, "carla")
    question_id = carla.ask("Como funciona a marcação a mercado?")
    carla.wait_answered(question_id)

    listed = dev.toro("executions", "list", "--status", "SUCCEEDED")
    assert listed.returncode == 0, listed.stderr
    assert question_id in listed.stdout

    shown = dev.toro("executions", "show", question_id)
    assert shown.returncode == 0, shown.stderr
    for state in ("Validate", "Retrieve", "CallOpenAI", "PersistAnswer", "PublishNotification"):
        assert state in shown.stdout
    assert "marcacao-a-mercado" in shown.stdout  # the Retrieve state's entry ids
    assert dev.toro("executions", "show", "01NOSUCHQUESTION").returncode == 1


def test_a_port_in_use_gives_a_clear_message(dev: Dev) -> None:
    aws_port = dev.aws_endpoint.rsplit(":", 1)[1]
    result = subprocess.run(
        [*TORO, "dev", "--aws-port", aws_port, "--api-port", "0"],
        env={**clean_environment(), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"Port {aws_port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_log_has_one_line_per_event_with_the_question_id(dev: Dev) -> None:
    dina = User(dev, "dina")
    question_id = dina.ask("O que é CDI?")
    dina.wait_answered(question_id)
    time.sleep(0.5)
    lines = [line for line in dev.log.read_text().splitlines() if question_id in line]
    functions = {line.split()[2] for line in lines}
    assert {"start_workflow", "call_openai", "notify_user"} <= functions
    assert all(not line.startswith("{") for line in lines)


def test_ctrl_c_stops_everything(dev: Dev) -> None:
    # Runs last (file order): the session fixture finds the process already stopped. How long
    # stopping takes is measured by `python -m bench.dev_lifecycle`; the timeout only ends a hang.
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(timeout=60) == 0
    assert "Stopped." in dev.log.read_text()
