"""The refusals of the domain, each with a message a person can act on."""


class DomainError(Exception):
    """A request the domain refuses; `str()` is the message for the person who made it."""

    status = 422
    title = "Refused"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule  # the rule of `gapwatch.authority` that refused, for a refusal


class InvalidInput(DomainError):
    """The input is malformed: a date that does not parse, a value outside its set."""

    status = 400
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed"


class Conflict(DomainError):
    """The request clashes with the journey's current state (already decided, already pending)."""

    status = 409
    title = "Conflict"
