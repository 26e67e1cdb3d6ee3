"""One module per Lambda function. Each is thin: parse the event, one call into ``core``.

This module also declares, once, what each function touches in AWS and how (``USES``): the CDK
app grants each function's role exactly that and sets the environment variable that names each
resource, and the embedded runtime runs each function under the policy the synthesized template
gives its role.
"""

from enum import StrEnum

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


class Resource(StrEnum):
    """The AWS resources the functions use. Each is named to a function by one variable."""

    TABLE = "table"  # questions, conversations, notifications, caches, counters, connections
    ACCOUNTS = "accounts"  # profiles (password hashes), usernames, login sessions (refresh tokens)
    QUESTIONS_TOPIC = "questions-topic"
    ANSWERS_TOPIC = "answers-topic"
    WORKFLOW = "workflow"  # the QuestionWorkflow state machine
    OPENAI_KEY = "openai-key"  # a Secrets Manager secret
    SIGNING_KEY = "signing-key"  # a Secrets Manager secret
    CONNECTIONS = "connections"  # the WebSocket API's connections (its Management API)


class Access(StrEnum):
    READ = "read"  # a table's items, a secret's value
    READ_WRITE = "read-write"  # a table's items
    SESSION_STATE = "session-state"  # accounts: whether a login session has ended, nothing more
    PUBLISH = "publish"  # a topic
    START = "start"  # the workflow: start executions
    OBSERVE = "observe"  # the workflow: describe its executions
    POST = "post"  # connections: send to a connection, close it


# The environment variable that tells a function where a resource it uses is.
VARIABLES: dict[Resource, str] = {
    Resource.TABLE: "TABLE_NAME",
    Resource.ACCOUNTS: "ACCOUNTS_TABLE_NAME",
    Resource.QUESTIONS_TOPIC: "QUESTIONS_TOPIC_ARN",
    Resource.ANSWERS_TOPIC: "ANSWERS_TOPIC_ARN",
    Resource.WORKFLOW: "STATE_MACHINE_ARN",
    Resource.OPENAI_KEY: "OPENAI_API_KEY_SECRET_NAME",
    Resource.SIGNING_KEY: "TOKEN_SIGNING_KEY_SECRET_NAME",
    Resource.CONNECTIONS: "WEBSOCKET_ENDPOINT",
}

# What each function touches, and how: its role's permissions and its resource variables come
# from here and from nowhere else. No workflow task, the sweeper or the WebSocket function can
# read a password hash or a refresh token: those live in the accounts table.
USES: dict[str, dict[Resource, Access]] = {
    "start_workflow": {Resource.TABLE: Access.READ_WRITE, Resource.WORKFLOW: Access.START},
    "validate_question": {
        Resource.TABLE: Access.READ_WRITE,
        Resource.OPENAI_KEY: Access.READ,
        Resource.CONNECTIONS: Access.POST,
    },
    "retrieve_context": {Resource.TABLE: Access.READ},
    "call_openai": {Resource.TABLE: Access.READ_WRITE, Resource.OPENAI_KEY: Access.READ},
    "persist_answer": {Resource.TABLE: Access.READ_WRITE},
    "mark_failed": {Resource.TABLE: Access.READ_WRITE},
    "publish_notification": {Resource.ANSWERS_TOPIC: Access.PUBLISH},
    "notify_user": {Resource.TABLE: Access.READ_WRITE, Resource.CONNECTIONS: Access.POST},
    "sweep_open_questions": {
        Resource.TABLE: Access.READ_WRITE,
        Resource.QUESTIONS_TOPIC: Access.PUBLISH,
        Resource.ANSWERS_TOPIC: Access.PUBLISH,
        Resource.WORKFLOW: Access.OBSERVE,
    },
    "websocket": {
        Resource.TABLE: Access.READ_WRITE,
        Resource.ACCOUNTS: Access.SESSION_STATE,
        Resource.SIGNING_KEY: Access.READ,
    },
    "api": {
        Resource.TABLE: Access.READ_WRITE,
        Resource.ACCOUNTS: Access.READ_WRITE,
        Resource.QUESTIONS_TOPIC: Access.PUBLISH,
        Resource.SIGNING_KEY: Access.READ,
    },
}
# The attributes of a login session that SESSION_STATE may read (core/accounts.py asks for
# exactly these).
SESSION_STATE_ATTRIBUTES = ("pk", "sk", "revoked_at")
