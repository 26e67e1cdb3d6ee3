"""One module per Lambda function. Each is thin: parse the event, one call into ``core``."""

# Function name -> "module:attribute", shared by the CDK app and the embedded runtime.
HANDLERS: dict[str, str] = {
    "start_workflow": "handlers.start_workflow.handler",
    "validate_question": "handlers.validate_question.handler",
    "call_openai": "handlers.call_openai.handler",
    "persist_answer": "handlers.persist_answer.handler",
    "mark_failed": "handlers.mark_failed.handler",
    "publish_notification": "handlers.publish_notification.handler",
    "notify_user": "handlers.notify_user.handler",
}
