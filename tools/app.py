"""Open the web demo (a Gradio page): choose, upload or paint a label map,
generate, click an instance to redraw it, copy a style from a reference photo.

The same as `inade app` (see `inade app --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("app"))
