"""Every text a user can see from the API, in OpenWhisk's exact wording, and the error that carries one.

One place for them, so that the controller, the invoker and the tests agree on each word.
"""

from __future__ import annotations


class EntityError(Exception):
    """A request the contract rejects; carries the HTTP status and the exact message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --- requests and resources -----------------------------------------------------------------------

RESOURCE_DOES_NOT_EXIST = "The requested resource does not exist."
RESOURCE_EXISTS = "resource already exists"
RESOURCE_NOT_IN_COLLECTION = "Resource by this name exists but is not in this collection."
NAME_ILLEGAL = "The name of the entity contains illegal characters."
NAMESPACE_ILLEGAL = "The namespace contains illegal characters."
ACTIVATION_ID_ILLEGAL = "The activation id is not valid."
AUTH_MISSING = "The resource requires authentication, which was not supplied with the request."
AUTH_INVALID = "The supplied authentication is invalid."
NOT_AUTHORIZED = "The supplied authentication is not authorized to access this resource."
DOCS_WITH_COUNT = "The parameter 'docs' is not permitted with 'count'."
PARAMETERS_NOT_ALLOWED = "Request defines parameters that are not allowed (e.g., reserved properties)."
CORRUPTED_ENTITY = "Resource is corrupted and cannot be read."
UNEXPECTED = "There was an error processing your request."

# --- invocation -----------------------------------------------------------------------------------

NO_HEALTHY_INVOKER = "No invokers available."
SYSTEM_OVERLOADED = "System is overloaded, try again later."
PROVISION_ERROR = "Failed to provision resources to run the action."
ABNORMAL_RUN = "The action did not produce a valid response and exited unexpectedly."
ABNORMAL_INIT = "The action did not initialize and exited unexpectedly."
MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted."
NOT_A_DICTIONARY = "The action did not return a dictionary or array."
MISSING_MAIN = "Missing main/no code to execute."
CANCELLED_BY_OPERATOR = "The activation was cancelled by an operator."
LOST_IN_CRASH = (
    "The activation was accepted but Squall stopped before it completed; "
    "it was ended when Squall started again."
)
LOST_AT_SHUTDOWN = "The activation could not complete because Squall was shutting down."


def not_authorized(resource: str) -> str:
    return f"The supplied authentication is not authorized to access '{resource}'."


def too_many_requests(count: int, allowed: int) -> str:
    return f"Too many requests in the last minute (count: {count}, allowed: {allowed})."


def too_many_concurrent(count: int, allowed: int) -> str:
    return f"Too many concurrent requests in flight (count: {count}, allowed: {allowed})."


def entity_too_big(what: str, size: int, allowed: int) -> str:
    return f"{what} larger than allowed: {size} > {allowed} bytes."


def timed_out(timeout_ms: int, init: bool) -> str:
    suffix = " during initialization." if init else "."
    return f"The action exceeded its time limits of {timeout_ms} milliseconds{suffix}"


def truncated_response(size: int, allowed: int) -> str:
    return f"The action produced a response that exceeded the allowed length: {size} > {allowed} bytes."


def truncated_logs(limit_bytes: int) -> str:
    return f"Logs were truncated because the total bytes size exceeds the limit of {limit_bytes} bytes."


# --- list and query arguments ---------------------------------------------------------------------


def list_limit_out_of_range(collection: str, value: int, maximum: int) -> str:
    return f"The value '{value}' is not in the range of 0 to {maximum} for {collection}."


def list_skip_out_of_range(collection: str, value: int) -> str:
    return f"The value '{value}' is not greater than or equal to 0 for {collection}."


def argument_not_integer(collection: str, value: str) -> str:
    return f"The value '{value}' is not an integer for {collection}."


def malformed(detail: str) -> str:
    return f"The request content was malformed:\n{detail}"
