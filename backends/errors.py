"""The engine layer's own error type: `backends` depends on nothing in `app`.

A `BackendError` is bad input or a fixable situation (a missing or damaged model file, an engine
or device that is not there): its message names the file and says what to do. The CLI prints it
as one line (`error: <message>`, exit code 2), exactly like `app.errors.BackendError`, which is a
subclass of it.
"""


class BackendError(Exception):
    """A clear, one-line message for the user, with the file it is about (if any)."""

    def __init__(self, message: str, path: object = None):
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
