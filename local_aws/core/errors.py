"""The error type the local front answers with (as an AWS error of the called service)."""


class ApiError(Exception):
    """An AWS error answered by local_aws itself (serialised as awsJson or rest-json)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
