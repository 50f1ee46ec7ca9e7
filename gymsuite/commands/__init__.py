"""gymsuite's commands: the command line over the Python API (``gymsuite train|evaluate|record|...``).

Each command is a module with ``main(argv) -> exit code``; :mod:`gymsuite.commands.cli` dispatches to
them and :mod:`gymsuite.commands._cli` gives every command the same error handling. The files in a
checkout's ``scripts/`` folder call these modules, so ``scripts/train.py`` and ``gymsuite train`` are the
same command.
"""
