"""Errors a user can act on.

Library code raises these; only the CLI turns them into a one-line message and
an exit code.  Every message says what is wrong *and* how to fix it.
"""

from __future__ import annotations

# Documented exit codes (README, "Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1  # an internal error: a bug in passdown
EXIT_USAGE = 2  # bad command line (argparse uses 2 as well)
EXIT_INPUT = 3  # the tree, a path or a rule file is not usable
EXIT_COMPDB = 4  # no compile commands and no way to make them
EXIT_LIBCLANG = 5  # libclang missing or the wrong version
EXIT_CACHE = 6  # the cache directory cannot be written
EXIT_TOOL = 7  # an external tool (make, git) failed
EXIT_INTERRUPTED = 130


class PassdownError(Exception):
    """Base class: str(err) is the one-line message, including the fix."""

    exit_code = EXIT_FAILURE


class InputError(PassdownError):
    exit_code = EXIT_INPUT


class CompdbError(PassdownError):
    exit_code = EXIT_COMPDB


class LibclangError(PassdownError):
    exit_code = EXIT_LIBCLANG


class CacheError(PassdownError):
    exit_code = EXIT_CACHE


class ToolError(PassdownError):
    exit_code = EXIT_TOOL
