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


class BadDataFile(DataError):
    """One data file is unusable: ``path`` names it, ``kind`` says which kind of
    problem it is (the dataset check counts problems per kind)."""

    def __init__(self, path: str, kind: str, what: str):
        super().__init__(f"{path}: {what}")
        self.path = path
        self.kind = kind
