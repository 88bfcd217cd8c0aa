"""argon2 off the event loop: other green threads run while a password is checked, at most
one check per core at once, and only the worker threads run at a lower CPU priority."""
import os
import threading

import eventlet
import pytest

from services.auth import offload, passwords

HASH = passwords.hash_password("paarden eten graag wortels in de wei")


def test_the_event_loop_keeps_running_while_passwords_are_checked():
    ticks = []

    def tick():
        while True:
            ticks.append(eventlet.sleep(0))

    ticker = eventlet.spawn(tick)
    for _ in range(3):
        before = len(ticks)
        assert passwords.verify_password(HASH, "paarden eten graag wortels in de wei")
        assert len(ticks) > before  # inline argon2 would give the ticker no turn at all
    ticker.kill()


def test_at_most_one_piece_of_work_per_core_runs_at_once():
    lock, running, peak = threading.Lock(), [0], [0]

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        passwords._hasher.hash("x")  # real argon2: long enough to overlap
        with lock:
            running[0] -= 1

    pool = eventlet.GreenPool()
    for _ in range(offload.SLOTS * 3):
        pool.spawn(offload.run, work)
    pool.waitall()
    assert peak[0] == offload.SLOTS


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are a Linux matter")
def test_only_the_worker_threads_run_at_a_lower_priority():
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    theirs = offload.run(lambda: (os.getpriority(os.PRIO_PROCESS, 0), threading.get_native_id()))
    assert theirs[0] >= offload.NICENESS
    assert theirs[1] != threading.get_native_id()  # another OS thread
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine


def test_an_exception_in_the_work_reaches_the_caller():
    with pytest.raises(ZeroDivisionError):
        offload.run(lambda: 1 / 0)
