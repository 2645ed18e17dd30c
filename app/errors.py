"""The one exception type that reaches the user as a clear message instead of a traceback."""


class UserError(Exception):
    """Bad input or a fixable situation: the message names the file and says what to do.

    The CLI prints `error: <message>` and exits with code 2; nothing already written is removed.
    """

    def __init__(self, message: str, path: object = None):
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
