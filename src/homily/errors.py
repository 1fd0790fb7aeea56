"""One exception tree for everything Homily reports to a client, rendered as the error envelope of API.md section 7."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Fault = Literal["client", "provider", "server"]


class HomilyError(Exception):
    """Base of every error a client may see. Subclasses fix the code, name, status, fault and retryability."""

    code: ClassVar[int] = 3001
    name: ClassVar[str] = "INTERNAL_ERROR"
    status: int = 500
    fault: ClassVar[Fault] = "server"
    retryable: ClassVar[bool] = True
    openai_type: ClassVar[str] = "api_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def envelope(self, request_id: str | None) -> dict[str, Any]:
        """The JSON body: a superset of OpenAI's error object and the platform's."""
        return {
            "error": {
                "message": self.message,
                "type": self.openai_type,
                "param": self.param,
                "code": self.code,
                "name": self.name,
                "fault": self.fault,
                "retryable": self.retryable,
                "request_id": request_id,
            }
        }


class InvalidRequestError(HomilyError):
    """Malformed input (400) or a value out of range / not in an enum (422, pass `status=422`)."""

    code = 1001
    name = "INVALID_REQUEST"
    status = 400
    fault = "client"
    retryable = False
    openai_type = "invalid_request_error"


class UnauthorizedError(HomilyError):
    code = 1002
    name = "UNAUTHORIZED"
    status = 401
    fault = "client"
    retryable = False
    openai_type = "authentication_error"


class ForbiddenError(HomilyError):
    code = 1003
    name = "FORBIDDEN"
    status = 403
    fault = "client"
    retryable = False
    openai_type = "permission_error"


class NotFoundError(HomilyError):
    code = 1004
    name = "NOT_FOUND"
    status = 404
    fault = "client"
    retryable = False
    openai_type = "not_found_error"


class RateLimitedError(HomilyError):
    code = 1005
    name = "RATE_LIMITED"
    status = 429
    fault = "client"
    retryable = True
    openai_type = "rate_limit_error"


class PayloadTooLargeError(HomilyError):
    code = 1006
    name = "PAYLOAD_TOO_LARGE"
    status = 413
    fault = "client"
    retryable = False
    openai_type = "invalid_request_error"


class ProviderTimeoutError(HomilyError):
    code = 2001
    name = "PROVIDER_TIMEOUT"
    status = 408
    fault = "provider"
    retryable = True
    openai_type = "timeout_error"


class ProviderUnavailableError(HomilyError):
    code = 2002
    name = "PROVIDER_UNAVAILABLE"
    status = 503
    fault = "provider"
    retryable = True
    openai_type = "service_unavailable_error"


class ProviderError(HomilyError):
    code = 2003
    name = "PROVIDER_ERROR"
    status = 502
    fault = "provider"
    retryable = True
    openai_type = "api_error"


class EmptyCompletionError(HomilyError):
    code = 2006
    name = "EMPTY_COMPLETION"
    status = 503
    fault = "provider"
    retryable = True
    openai_type = "service_unavailable_error"


class InternalError(HomilyError):
    """A bug in Homily. The message never carries internals; the log has them under the request id."""
