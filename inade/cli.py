"""The `inade` command and the plumbing its subcommands share: user mistakes
become one line, and the process settings Paddle reads at import are made first."""
from __future__ import annotations

import importlib
import sys

from .errors import InadeError


def run_cli(main, argv=None) -> int:
    """Call ``main(argv)``; an InadeError is printed as ``error: ...`` (exit 2),
    an interruption as ``interrupted`` (exit 130).
    The environment's INADE_CONV is checked first, before a tool writes anything."""
    from . import backends

    try:
        backends.active()
        return int(main(argv) or 0)
    except InadeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM where a tool turns it into this) before a tool saves
        print("interrupted", file=sys.stderr)
        return 130


def add_max_pixels_argument(parser, what: str = "images") -> None:
    """--max-pixels, the image-size bound of every command that reads images; check it with checked_max_pixels."""
    from .data.readers import DEFAULT_MAX_PIXELS

    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse {what} with more pixels than this before decoding them (default %(default)s)")


def checked_max_pixels(value: int) -> int:
    if value < 1:
        raise InadeError(f"--max-pixels must be positive, got {value}")
    return value


def add_config_arguments(parser) -> None:
    """--config and -o/--override, as every tool that reads a training configuration takes them."""
    parser.add_argument("--config", required=True, help="YAML configuration file")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration value, e.g. -o optim.lr=1e-4 (value parsed as YAML)")


# subcommand: (module that has main(argv), what it does)
COMMANDS = {
    "train": ("inade.commands.train", "train a model from a YAML configuration (resumes a run)"),
    "sample": ("inade.commands.sample", "draw images from label maps, redraw or copy instance styles"),
    "evaluate": ("inade.commands.evaluate", "score a model: diversity, consistency, FID/KID, mIoU"),
    "convert": ("inade.commands.convert", "turn the authors' PyTorch checkpoints into a run folder"),
    "export": ("inade.commands.export", "export a model for Paddle Inference"),
    "check-data": ("inade.commands.check_data", "check every file of a configuration's dataset"),
    "app": ("inade.commands.app", "serve the web demo (Gradio; the app extra)"),
    "benchmark": ("inade.benchmark.cli", "measure speed, FLOPs and memory"),
    "gpu-check": ("inade.commands.gpu_check", "check mixed precision and training speed on a GPU"),
    "export-procedural": ("inade.commands.export_procedural", "write procedural samples as image files"),
    "merge-celeba-masks": ("inade.commands.merge_celeba_masks", "merge CelebAMask-HQ part masks into label maps"),
    "upgrade-checkpoint": ("inade.commands.upgrade_checkpoint", "rewrite an old .pdckpt checkpoint as .safetensors"),
}


def _warning_line(message, category, filename, lineno, file=None, line=None):
    """A warning to a command's user is one line: what is wrong and what to do,
    not the library line that raised it."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def run_command(name: str, argv=None) -> int:
    """Run subcommand ``name`` with ``argv`` (default: the process's arguments)."""
    import warnings

    from .runtime import prepare_process

    # before the command's first `import paddle`: threads and MKL are read when it loads
    prepare_process()
    warnings.showwarning = _warning_line
    module = importlib.import_module(COMMANDS[name][0])
    return run_cli(module.main, sys.argv[1:] if argv is None else argv)


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "usage: inade COMMAND [options]   (inade COMMAND --help for its options)\n\ncommands:\n" + "\n".join(lines)


def main(argv=None) -> int:
    """The `inade` console command: ``inade COMMAND [options]``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from . import __version__

        print(f"inade {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; one of: {', '.join(COMMANDS)}"
        print(f"error: unknown command '{argv[0]}'{hint}", file=sys.stderr)
        return 2
    return run_command(argv[0], argv[1:])
