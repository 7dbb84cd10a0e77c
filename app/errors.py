"""Domain errors: a refused operation, with a translatable message.

Operations raise them; views turn them into a flash or a form error, the API
into a JSON 4xx. Each carries the HTTP status and a stable machine code."""


class DomainError(Exception):
    status = 409
    code = "conflict"

    def __init__(self, message, *, field: str | None = None, code: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status

    def __str__(self):
        return str(self.message)


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class Invalid(DomainError):
    status = 422
    code = "invalid"
