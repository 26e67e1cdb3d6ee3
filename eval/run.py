"""``make eval``: the evaluation set through the real system, scored.

Starts ``toro dev`` as its own process (the offline model, or the configured model when
``OPENAI_API_KEY`` is set), and asks every case through the REST API as a client would: each case
in a conversation of its own, follow-ups after their earlier questions, a ``conversation`` case
turn by turn. The entries retrieved come from each execution's Retrieve state; the citations from
the answer's ``sources``. Then the first questions are asked again, reworded only in case and
punctuation, in new conversations, to measure the answer cache.

Scores:
- retrieval recall@3: cases with expected entries whose Retrieve state found one of them;
- citation precision: of the sources cited where entries are expected, the share expected;
- follow-up accuracy: follow-ups whose answer cites an expected entry;
- decline accuracy: off-topic and uncovered questions answered with "I do not know" (no sources);
- answer rate: answerable questions that got a grounded answer (not declined);
- injection resistance: injection attempts whose answer contains none of the forbidden text;
- cache hit rate: repeated first questions served from the cache;
- topic-switch accuracy: turns of a conversation that change subject (to a new one, back to an
  earlier one, or off the domain) answered on their own subject (or declined, off the domain);
- multi-turn accuracy: every turn after the first of a conversation, judged the same way;
- repetition rate: answers after a conversation's first that repeat an earlier answer of the same
  conversation word for word (citation markers aside). Lower is better.

The first seven scores are over the single-question cases, the last three over conversations
(repetition over follow-ups too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from core.feedback import FeedbackRepository
from core.prompt import strip_citations
from core.text import normalise
from local import http
from local.child import DevProcess, dev_process
from local.functions import ACCOUNT, DEFAULT_REGION
from local.provision import TABLE_NAME

ROOT = Path(__file__).resolve().parent
CASES = ROOT / "cases.json"
FLOOR = ROOT / "floor.json"
FINAL = ("answered", "failed", "rejected")
EXECUTION_PREFIX = f"arn:aws:states:{DEFAULT_REGION}:{ACCOUNT}:execution:QuestionWorkflow:"
ANSWERABLE = ("direct", "paraphrase", "follow_up")
SUBJECT_CHANGES = ("switch", "return", "off_topic")
# Scores that must stay at or below their ceiling in floor.json (the others at or above).
LOWER_IS_BETTER = ("repetition_rate",)


@dataclass
class Result:
    case: dict[str, Any]
    status: str
    answer: str
    cited: list[str]
    retrieved: list[str]
    grounded: bool
    from_cache: bool = False
    kb_version: str = ""
    model: str = ""
    # The answers given earlier in the same conversation, oldest first.
    earlier: list[str] = field(default_factory=list)
    # What the Retrieve state decided: ``standalone`` or ``follow_up`` (empty before it said).
    decision: str = ""

    @property
    def expected(self) -> set[str]:
        return set(self.case.get("expect", []))

    @property
    def correct(self) -> bool:
        """Declined when it had to, or citing an entry it may cite."""
        if self.case.get("decline"):
            return self.status == "answered" and not self.grounded and not self.cited
        return bool(set(self.cited) & self.expected)

    @property
    def repeats(self) -> bool:
        """Whether the answer repeats an earlier one of the conversation word for word."""
        said = _verbatim(self.answer)
        return bool(said) and any(
            said in before or before in said for before in map(_verbatim, self.earlier) if before
        )

    def outcome(self) -> str:
        """Everything judged about this answer, in one line: equal lines, equal judgements."""
        digest = hashlib.sha256(self.answer.encode()).hexdigest()[:12]
        return (
            f"{self.status} grounded={self.grounded} cache={self.from_cache} "
            f"cited={','.join(self.cited)} retrieved={','.join(self.retrieved)} "
            f"decision={self.decision} answer={digest}"
        )


def _verbatim(answer: str) -> str:
    return normalise(strip_citations(answer))


@dataclass
class Scores:
    cases: int
    kb_version: str
    model: str
    retrieval_recall_at_3: float
    citation_precision: float
    follow_up_accuracy: float
    decline_accuracy: float
    answer_rate: float
    injection_resistance: float
    cache_hit_rate: float
    topic_switch_accuracy: float
    multi_turn_accuracy: float
    repetition_rate: float
    failures: dict[str, list[str]] = field(default_factory=dict)
    # Per case (per turn for conversations), what was judged: two runs can be compared.
    outcomes: dict[str, str] = field(default_factory=dict)


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


class Client:
    """One user of the REST API, as a client program would be."""

    def __init__(self, dev: DevProcess) -> None:
        self.base = f"{dev.api_url}/api/v1"
        self.sfn = boto3.client(
            "stepfunctions",
            endpoint_url=dev.aws_endpoint,
            region_name=DEFAULT_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local endpoint's
        )
        # A throwaway account on a throwaway system.
        credentials = {"username": "evaluator", "password": secrets.token_urlsafe(16)}
        http.call("POST", f"{self.base}/auth/register", credentials)
        self.token = http.call("POST", f"{self.base}/auth/login", credentials).body["access_token"]

    def conversation(self) -> str:
        response = http.call("POST", f"{self.base}/sessions", {}, self.token)
        return str(response.body["session_id"])

    def ask(self, question: str, session_id: str, timeout: float = 120) -> dict[str, Any]:
        asked = http.call(
            "POST",
            f"{self.base}/questions",
            {"question": question, "session_id": session_id},
            self.token,
        )
        if asked.status != 202:
            raise RuntimeError(f"The question was not accepted: {asked.status} {asked.body}")
        question_id = asked.body["question_id"]
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = http.call(
                "GET", f"{self.base}/questions/{session_id}/{question_id}", token=self.token
            ).body
            if body["status"] in FINAL:
                return body
            if time.monotonic() > deadline:
                raise RuntimeError(f"No answer to {question!r} within {timeout:.0f} s")
            time.sleep(0.1)

    def retrieval(self, question_id: str) -> dict[str, Any]:
        """What the execution's Retrieve state found (empty when it did not run)."""
        history = self.sfn.get_execution_history(
            executionArn=EXECUTION_PREFIX + question_id, maxResults=1000
        )["events"]
        for event in history:
            exited = event.get("stateExitedEventDetails")
            if exited and exited["name"] == "Retrieve":
                found: dict[str, Any] = json.loads(exited["output"])["retrieval"]
                return found
        return {}


def _result(
    client: Client, case: dict[str, Any], body: dict[str, Any], earlier: list[str]
) -> Result:
    found = client.retrieval(body["question_id"]) if body["status"] == "answered" else {}
    return Result(
        case=case,
        status=body["status"],
        answer=body.get("answer") or "",
        cited=[source["id"] for source in body.get("sources", [])],
        retrieved=[entry["id"] for entry in found.get("entries", [])],
        grounded=bool(body.get("grounded")),
        from_cache=bool(body.get("from_cache")),
        kb_version=body.get("kb_version") or "",
        model=body.get("model") or "",
        earlier=earlier,
        decision=found.get("decision", ""),
    )


def turns(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions of a case, each as a case of its own: a conversation's turns are judged one
    by one (``<id>/<n>``); other cases are their last question, after the ``after`` ones."""
    if case["kind"] != "conversation":
        return [case]
    return [
        {**turn, "id": f"{case['id']}/{number}", "kind": "conversation"}
        for number, turn in enumerate(case["turns"], start=1)
    ]


def run_case(client: Client, case: dict[str, Any]) -> list[Result]:
    session = client.conversation()
    answers: list[str] = []
    for earlier in case.get("after", []):
        answers.append(client.ask(earlier, session).get("answer") or "")
    results = []
    for turn in turns(case):
        body = client.ask(turn["question"], session)
        results.append(_result(client, turn, body, list(answers)))
        answers.append(results[-1].answer)
    return results


def reworded(question: str) -> str:
    """The same question as the cache sees it: other case, punctuation and spacing."""
    return f"  {question.upper().rstrip('?')} ?! "


def _share(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 1.0


def score(results: list[Result], repeats: list[Result]) -> Scores:
    failures: dict[str, list[str]] = {}

    def judged(name: str, cases: list[Result], passed: Callable[[Result], bool]) -> float:
        missed = [result.case["id"] for result in cases if not passed(result)]
        if missed:
            failures[name] = missed
        return _share(len(cases) - len(missed), len(cases))

    conversations = [r for r in results if r.case["kind"] == "conversation"]
    later_turns = [r for r in conversations if r.case["change"] != "start"]
    results = [r for r in results if r.case["kind"] != "conversation"]
    expecting = [r for r in results if r.expected]
    answerable = [r for r in results if r.case["kind"] in ANSWERABLE]
    cited = [r for r in expecting if r.cited]
    precise = sum(len(set(r.cited) & r.expected) for r in cited)
    stray = [
        f"{r.case['id']} ({', '.join(sorted(set(r.cited) - r.expected))})"
        for r in cited
        if set(r.cited) - r.expected
    ]
    if stray:
        failures["citation"] = stray
    answered = next((r for r in results if r.kb_version), None)
    return Scores(
        cases=len(results) + len({r.case["id"].split("/")[0] for r in conversations}),
        kb_version=answered.kb_version if answered else "",
        model=answered.model if answered else "",
        retrieval_recall_at_3=judged(
            "retrieval", expecting, lambda r: bool(set(r.retrieved[:3]) & r.expected)
        ),
        citation_precision=_share(precise, sum(len(r.cited) for r in cited)),
        follow_up_accuracy=judged(
            "follow_up",
            [r for r in results if r.case["kind"] == "follow_up"],
            lambda r: bool(set(r.cited) & r.expected),
        ),
        decline_accuracy=judged(
            "decline",
            [r for r in results if r.case.get("decline")],
            lambda r: r.status == "answered" and not r.grounded and not r.cited,
        ),
        answer_rate=judged("answer", answerable, lambda r: r.grounded),
        injection_resistance=judged(
            "injection",
            [r for r in results if r.case["kind"] == "injection"],
            lambda r: not any(text.lower() in r.answer.lower() for text in r.case["forbidden"]),
        ),
        cache_hit_rate=judged("cache", repeats, lambda r: r.from_cache),
        topic_switch_accuracy=judged(
            "topic_switch",
            [r for r in later_turns if r.case["change"] in SUBJECT_CHANGES],
            lambda r: r.correct,
        ),
        multi_turn_accuracy=judged("multi_turn", later_turns, lambda r: r.correct),
        repetition_rate=round(
            1.0
            - judged(
                "repetition",
                later_turns + [r for r in results if r.earlier],
                lambda r: not r.repeats,
            ),
            4,
        ),
        failures=failures,
        outcomes={r.case["id"]: r.outcome() for r in [*results, *conversations, *repeats]},
    )


@dataclass(frozen=True)
class Progress:
    total: int

    def __call__(self, done: int) -> None:
        sys.stderr.write(f"\r  {done}/{self.total} cases answered")
        sys.stderr.flush()


def _answered(client: Client, cases: list[dict[str, Any]], workers: int) -> Iterator[Result]:
    progress = Progress(len(cases))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, results in enumerate(pool.map(lambda c: run_case(client, c), cases), start=1):
            progress(done)
            yield from results
    sys.stderr.write("\n")


def evaluate(cases: list[dict[str, Any]], workers: int = 6) -> Scores:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "TORO_"))
    }
    # One evaluator asks every question: the per-user rate limit and daily token budgets are
    # for people, not for it.
    env.update(
        RATE_LIMIT_QUESTIONS_PER_MINUTE="100000",
        DAILY_TOKEN_BUDGET_PER_USER="100000000",  # noqa: S106 - a number of tokens
        DAILY_TOKEN_CEILING="100000000",  # noqa: S106 - a number of tokens
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    with tempfile.TemporaryDirectory() as folder, dev_process(Path(folder) / "dev.log", env) as dev:
        sys.stderr.write(f"toro dev started in {dev.started_in_seconds:.1f} s\n")
        client = Client(dev)
        results = list(_answered(client, cases, workers))
        firsts = [
            {**r.case, "id": f"repeat-{r.case['id']}", "question": reworded(r.case["question"])}
            for r in results
            if r.case["kind"] == "direct" and r.status == "answered"
        ]
        sys.stderr.write("The first questions again, reworded, in new conversations:\n")
        repeats = list(_answered(client, firsts, workers))
    return score(results, repeats)


def _table(scores: Scores) -> str:
    rows = [
        ("retrieval recall@3", scores.retrieval_recall_at_3),
        ("citation precision", scores.citation_precision),
        ("follow-up accuracy", scores.follow_up_accuracy),
        ("decline accuracy", scores.decline_accuracy),
        ("answer rate (answerable questions)", scores.answer_rate),
        ("injection resistance", scores.injection_resistance),
        ("cache hit rate (repeated first questions)", scores.cache_hit_rate),
        ("topic-switch accuracy (conversations)", scores.topic_switch_accuracy),
        ("multi-turn accuracy (conversations)", scores.multi_turn_accuracy),
        ("repetition rate (lower is better)", scores.repetition_rate),
    ]
    lines = [f"{scores.cases} cases · knowledge base {scores.kb_version} · model {scores.model}"]
    lines += [f"  {name:<42} {value:6.1%}" for name, value in rows]
    for name, missed in scores.failures.items():
        lines.append(f"  missed ({name}): {', '.join(missed)}")
    return "\n".join(lines)


def people_feedback(table: str | None, endpoint: str | None) -> dict[str, Any] | None:
    """The ratings people gave the answers (thumbs up / down on the page), from ``table``: a
    stage's table (with the AWS credentials of the environment), or ``toro dev``'s own
    (``toro-assistant``, with ``endpoint`` its AWS endpoint). None when no table is given."""
    if not table:
        return None
    # toro dev checks no credentials; a stage's table is read with the environment's.
    local_key = "local" if endpoint else None
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        aws_access_key_id=local_key,
        aws_secret_access_key=local_key,
    )
    totals = FeedbackRepository(client, table).totals()
    return {"table": table, "up": totals.up, "down": totals.down, "share_up": totals.share_up}


def _feedback_line(feedback: dict[str, Any] | None) -> str:
    if feedback is None:
        return (
            "people's ratings: not read; pass --feedback-table (a stage's table, or "
            f"{TABLE_NAME} with --aws-endpoint http://127.0.0.1:4566 for a running toro dev)"
        )
    share = "no ratings yet" if feedback["share_up"] is None else f"{feedback['share_up']:.1%} up"
    return (
        f"people's ratings ({feedback['table']}): {feedback['up']} up, {feedback['down']} down"
        f" · {share}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the assistant on the evaluation set.")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--workers", type=int, default=6, help="questions asked at once")
    parser.add_argument(
        "--feedback-table", help="also print the ratings people gave in this DynamoDB table"
    )
    parser.add_argument("--aws-endpoint", help="the table's endpoint (toro dev's AWS endpoint)")
    args = parser.parse_args(argv)
    # Read first: a table that cannot be read fails the command before the long evaluation.
    feedback = people_feedback(args.feedback_table, args.aws_endpoint)
    scores = evaluate(load_cases(), args.workers)
    if args.json:
        sys.stdout.write(json.dumps({**asdict(scores), "feedback": feedback}, indent=1) + "\n")
    else:
        sys.stdout.write(_table(scores) + "\n" + _feedback_line(feedback) + "\n")
    return 0
