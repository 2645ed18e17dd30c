"""The one exception type that reaches the user as a clear message instead of a traceback."""

from backends.errors import BackendError


class UserError(BackendError):
    """Bad input or a fixable situation: the message names the file and says what to do.

    The CLI prints `error: <message>` and exits with code 2; nothing already written is removed.
    A subclass of the engine layer's `BackendError` (same message, same handling), so code that
    catches `BackendError` sees both.
    """
