"""The one exception type that reaches the user as a clear message instead of a traceback."""

from backends.errors import BackendError


class UserError(BackendError):
    """Bad input or a fixable situation: the message names the file and says what to do.

    The CLI prints `error: <message>` and exits with code 2; nothing already written is removed.
    A subclass of the engine layer's `BackendError` (same message, same handling), so code that
    catches `BackendError` sees both.
    """


_working_on: str | None = None


def working_on(path: object) -> None:
    """Note the file a step is working on now, so that a crash (a bug, not bad input) can name
    it in its one line: the user then knows which frame or face to report or set aside."""
    global _working_on
    _working_on = None if path is None else str(path)


def current_file() -> str | None:
    """The file last passed to `working_on` in this process (None before any)."""
    return _working_on
