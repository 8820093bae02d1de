"""The one error base the command line and the DAG turn into a single clear line."""

from __future__ import annotations


class UserError(Exception):
    """Something a person must change (a setting, an argument, a file, a path).

    The message names what is wrong and what to do; the command line prints it
    as one line and exits non-zero, without a traceback, and nothing is changed.
    """
