"""Progress bars for the long jobs (expiry, digests, verifications, backups): drawn on the
terminal of whoever runs one by hand, and nothing at all under cron or into a pipe, where a
bar would only fill the mail cron sends."""
import sys
from collections.abc import Callable
from contextlib import contextmanager

import click


@contextmanager
def progress_bar(length: int | Callable[[], int], label: str, stream=None):
    """Yield `advance(n)`: a bar of `length` steps on `stream` (stderr, so the job's own output
    stays clean) when it is a terminal; otherwise a function that does nothing. `length` may be a
    function counting the steps, called only when the bar is drawn (a count of a million rows is
    not free, and cron never sees the bar)."""
    stream = stream or sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda n=1: None
        return
    if callable(length):
        length = length()
    with click.progressbar(length=max(length, 1), label=label, file=stream) as bar:
        yield bar.update
