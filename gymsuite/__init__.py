"""gymsuite's commands: the user-facing layer (``gymsuite train|evaluate|record|...``).

Each command is a module with ``main(argv) -> exit code``; :mod:`gymsuite.cli` dispatches to
them and :mod:`gymsuite._cli` gives every command the same error handling. The files in the
repository's ``scripts/`` folder are thin callers of these modules, so ``python scripts/train.py``
and ``gymsuite train`` are the same command.
"""
