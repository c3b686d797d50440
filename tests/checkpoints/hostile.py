"""Pickles that run code when plain pickle (paddle.load) reads them: what a
hostile checkpoint does. Each would create a marker file."""
import os


class Runs:
    """Pickles as a call of ``function(*args)``: what a hostile file does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def hostile_pickles(marker):
    """Pickles that would create ``marker`` if loaded with pickle.load."""
    import builtins
    import subprocess

    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": Runs(os.system, f"touch {marker}"),
        "builtins.eval": Runs(builtins.eval, touch),
        "builtins.exec": Runs(builtins.exec, touch),
        "subprocess.call": Runs(subprocess.call, ["touch", str(marker)]),
    }
