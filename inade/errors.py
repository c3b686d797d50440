"""Errors that describe a user mistake (bad file, bad config value, wrong id).

Command-line tools catch `InadeError` and print its message as one line instead
of a traceback; anything else is a bug and keeps its traceback.
"""


class InadeError(Exception):
    """A problem with the user's input, configuration or files."""


class ConfigError(InadeError):
    """A configuration key or value is wrong."""


class DataError(InadeError):
    """A dataset file or folder is missing, unreadable or inconsistent."""


class CheckpointError(InadeError):
    """A checkpoint cannot be read or does not fit the model."""
