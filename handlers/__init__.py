"""One module per Lambda function. Each is thin: parse the event, one call into ``core``."""

# Function name -> "module.attribute", shared by the CDK app and the embedded runtime.
HANDLERS: dict[str, str] = {
    "start_workflow": "handlers.start_workflow.handler",
    "validate_question": "handlers.validate_question.handler",
    "retrieve_context": "handlers.retrieve_context.handler",
    "call_openai": "handlers.call_openai.handler",
    "persist_answer": "handlers.persist_answer.handler",
    "mark_failed": "handlers.mark_failed.handler",
    "publish_notification": "handlers.publish_notification.handler",
    "notify_user": "handlers.notify_user.handler",
    "sweep_open_questions": "handlers.sweep_open_questions.handler",
}
# Every function: the workflow's handlers, the API's Lambda entry point, and the WebSocket API's
# routes (on AWS only: toro dev serves the WebSocket API itself).
FUNCTIONS: dict[str, str] = {
    **HANDLERS,
    "api": "api.lambda_handler.handler",
    "websocket": "handlers.websocket.handler",
}

# Lambda timeouts: below each task's TimeoutSeconds in the ASL, above the OpenAI client's 20 s.
TIMEOUT_SECONDS: dict[str, int] = {
    "validate_question": 25,
    "call_openai": 30,
    "sweep_open_questions": 60,
}
DEFAULT_TIMEOUT_SECONDS = 15


def timeout_of(name: str) -> int:
    return TIMEOUT_SECONDS.get(name, DEFAULT_TIMEOUT_SECONDS)
