"""SNS -> Lambda, the way AWS delivers it, on top of the local endpoint.

Each subscribed function gets an SQS queue subscribed to its topic. A poller turns every queued
SNS notification into the real SNS Lambda event (``Records[].Sns`` with MessageAttributes) and
invokes the function. A failed invocation leaves the message on the queue to be retried after
its visibility timeout; after ``max_receives`` attempts SQS moves it to the dead-letter queue, as
Lambda's asynchronous retries and on-failure destination would.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.lambda_gateway import LambdaGateway

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger("toro.sns")


@dataclass(frozen=True)
class Subscription:
    topic_arn: str
    function: str
    queue_url: str
    dead_letter_queue_url: str
    subscription_arn: str


def lambda_event(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The SNS event Lambda receives, from the notification SNS delivered to SQS."""
    region = envelope["TopicArn"].split(":")[3]
    sns_host = f"https://sns.{region}.amazonaws.com"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope["Timestamp"],
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", "EXAMPLE"),
                    "SigningCertUrl": envelope.get(
                        "SigningCertURL", f"{sns_host}/SimpleNotificationService-local.pem"
                    ),
                    "UnsubscribeUrl": envelope.get(
                        "UnsubscribeURL",
                        f"{sns_host}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
                    ),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }


class SnsBridge:
    def __init__(
        self,
        sqs: SQSClient,
        gateway: LambdaGateway,
        subscription: Subscription,
        *,
        workers: int = 8,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self._gateway = gateway
        self.subscription = subscription
        self._wait_seconds = wait_seconds
        self._stop = threading.Event()
        # Receive only what the workers can take now: a message received is invisible, and a
        # large in-flight backlog makes every later receive slower (and Lambda pulls no faster
        # than it has capacity either).
        self._capacity = threading.Semaphore(workers)
        self._max_batch = min(workers, 10)
        self._workers = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"sns-{subscription.function}"
        )
        self._thread = threading.Thread(
            target=self._poll, name=f"poll-{subscription.function}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._wait_seconds + 5)
        self._workers.shutdown(wait=True, cancel_futures=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            free = self._reserve()
            if not free:
                continue
            try:
                response = self._sqs.receive_message(
                    QueueUrl=self.subscription.queue_url,
                    MaxNumberOfMessages=free,
                    WaitTimeSeconds=self._wait_seconds,
                )
            except Exception:
                self._release(free)
                if self._stop.is_set():
                    return
                log.exception("Polling %s failed", self.subscription.queue_url)
                self._stop.wait(1)
                continue
            messages = response.get("Messages", [])
            self._release(free - len(messages))
            for message in messages:
                self._workers.submit(self._deliver_and_release, message)

    def _reserve(self) -> int:
        """Take every free worker slot (at least one, waiting up to a second for it)."""
        if not self._capacity.acquire(timeout=1):
            return 0
        taken = 1
        while taken < self._max_batch and self._capacity.acquire(blocking=False):
            taken += 1
        return taken

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._capacity.release()

    def _deliver_and_release(self, message: MessageTypeDef) -> None:
        try:
            self.deliver(message)
        finally:
            self._capacity.release()

    def deliver(self, message: MessageTypeDef) -> bool:
        """Invoke the function with one queued notification; True when it succeeded."""
        name = self.subscription.function
        try:
            envelope = json.loads(message["Body"])
            event = lambda_event(envelope, self.subscription.subscription_arn)
        except (ValueError, KeyError):
            log.exception("Unreadable SNS notification for %s; it will go to the DLQ", name)
            return False
        result = self._gateway.invoke(name, json.dumps(event))
        if result.function_error:
            error = json.loads(result.payload)
            log.warning(
                "%s failed (%s: %s); SNS delivery will be retried",
                name,
                error.get("errorType"),
                error.get("errorMessage"),
            )
            return False
        self._sqs.delete_message(
            QueueUrl=self.subscription.queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        return True
