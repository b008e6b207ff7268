"""Child processes that never outlive the gateway that started them.

A child reading a pipe from the gateway sees its end when the gateway dies, but one blocked in a call
(a hung terminal) or idle in a process pool never reads again: killed with SIGKILL, the gateway would
leave it running (and, through it, the multiprocessing resource tracker). ``exit_with_parent`` runs in
each child (terminal workers, indicator render workers) and ends it when its parent is gone.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["exit_with_parent"]


def exit_with_parent(check_every: float = 1.0) -> None:
    """Exit this process when its parent dies, even while its main thread is blocked."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_every)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
