class ServiceError(Exception):
    """A refusal the caller can act on: an HTTP status, a message and a stable code."""

    def __init__(self, message, *, status=400, code="invalid"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
