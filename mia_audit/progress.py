"""Progress of long loops (training epochs, query batches), for whoever shows it.

The loops that take time call :func:`advance` (``what`` is done up to ``done`` of ``total``); nothing
happens unless a caller has installed a reporter with :func:`reporting` (the CLI's live display
does). The reporter is process-wide rather than a context variable, because model groups train in
worker threads that do not inherit a context; one audit runs at a time in the CLI, and a library
caller that installs none sees nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Reporter = Callable[[str, int, int], None]

_reporters: list[Reporter] = []


def advance(what: str, done: int, total: int) -> None:
    """Tell the reporter, if any, that ``what`` has reached ``done`` of ``total``."""
    if _reporters and total > 0:
        _reporters[-1](what, min(done, total), total)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Send every :func:`advance` made while this block runs, from any thread, to ``reporter``."""
    _reporters.append(reporter)
    try:
        yield
    finally:
        _reporters.remove(reporter)
