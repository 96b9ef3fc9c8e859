"""The one error type a user can cause: the CLI turns it into one line and exit code 2."""


class UsageError(Exception):
    """Bad input (task, data file, model, option). The message says what to do."""
