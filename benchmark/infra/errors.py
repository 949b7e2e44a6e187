"""Exceptions that the CLI turns into exit code 2 ("bad input") with a readable message.

One base class lets the CLI tell a user's mistake (a missing file, a wrong shape) from a bug,
which should keep its traceback.
"""


class InterpbenchError(Exception):
    """Bad input: a file, argument or object that the harness cannot use as given."""


class CorruptFileError(InterpbenchError):
    """A file exists but cannot be parsed, or its contents contradict its own metadata."""


class ShapeError(InterpbenchError):
    """An array has the wrong shape or dtype for the object it is meant to build."""
