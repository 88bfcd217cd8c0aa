"""CPU-heavy work (argon2id) off the event loop.

argon2id is slow by design: each hash or check is tens of milliseconds of one core
and 64 MiB of memory.  Run on eventlet's hub it stalls everything else the process
does: during a storm of wrong logins every session check of every logged-in page
waited behind the guesses (13 ms became about a second).

``run`` hands the work to one of eventlet's real OS threads (``tpool``).  argon2's C
code releases the GIL, so the hub keeps answering session checks meanwhile.  At
most one piece of work per core runs at once (the rest wait their turn on a green
semaphore, not in the thread pool), and the threads doing it run at a lower CPU
priority (nice ``NICENESS``), so that under a storm the requests of people already
logged in still get the processor first.
"""
from __future__ import annotations

import os

from eventlet import tpool
from eventlet.semaphore import Semaphore

NICENESS = 10  # Linux: the nice value is per thread; only the worker threads are lowered
SLOTS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

_slots = Semaphore(SLOTS)


def run(work, *args):
    """``work(*args)`` in a worker thread (at most SLOTS at once); its result or exception."""
    with _slots:
        return tpool.execute(_lowered, work, args)


def _lowered(work, args):
    _lower_priority()
    return work(*args)


def _lower_priority() -> None:
    """Lower the calling OS thread's CPU priority to NICENESS (never raise it again)."""
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < NICENESS:
            os.setpriority(os.PRIO_PROCESS, 0, NICENESS)
    except (AttributeError, OSError):  # no per-thread priority here: the work runs all the same
        pass
