"""The one exception type the infrastructure layer raises."""


class InfraError(RuntimeError):
    """A server could not be started, reached, prepared or stopped.

    The message says what went wrong and what to do about it; when a server failed to start it
    ends with the tail of that server's log.
    """
