"""One module per ``bearing-inspect`` subcommand.

Each module defines ``NAME`` (the subcommand), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code). ``core.cli`` lists them in ``COMMAND_MODULES``.
"""
