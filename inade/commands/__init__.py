"""The code of the `inade` subcommands: each module has ``main(argv)``."""
