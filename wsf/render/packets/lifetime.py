"""Worker processes end with the process that started them.

`wsf packets` renders PDFs in worker processes. When the parent dies without closing its pool
(`kill -9`, the OOM killer, a cancelled CI job), the workers would go on rendering into a
temporary folder that nobody will move into place, a core each, until the queue runs dry.
`die_with_parent` runs first in every worker. On Linux the kernel sends the worker SIGKILL when
its parent dies (PR_SET_PDEATHSIG); a parent that died before the worker could ask shows as a
parent pid that is no longer the one that started it. Elsewhere, a daemon thread looks at the
parent pid every second.

PR_SET_PDEATHSIG fires when the *thread* that started the worker ends. `ProcessPoolExecutor`
(spawn) starts its workers in the thread that submits the jobs, which waits for the pool to
finish, so the workers never outlive it for that reason.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
EVERY = 1.0  # seconds between looks at the parent pid, where the kernel cannot be asked


def die_with_parent(parent: int) -> None:
    """End this process when `parent`, the pid of the process that started it, ends."""
    if _killed_by_the_kernel_with_parent():
        if os.getppid() != parent:  # it died before the kernel was asked
            os._exit(1)
    else:
        watch_parent(parent)


def _killed_by_the_kernel_with_parent() -> bool:
    """Ask Linux for SIGKILL when the parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no C library to load, or no prctl in it
        return False


def watch_parent(parent: int, every: float = EVERY) -> threading.Thread:
    """A daemon thread that ends this process as soon as its parent pid is no longer `parent`
    (the parent died and the process was handed to init or a subreaper)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread
