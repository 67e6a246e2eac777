"""Sandbox slots: every concurrent sandboxed run is a user of its own, across all pools, so one
run's fork bomb cannot spend another run's process limit (the real sandbox, as root)."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from rewardgym.judges.runtime.limits import Limits
from rewardgym.judges.runtime.sandbox import Sandbox
from rewardgym.judges.runtime.sandbox_slots import UIDS, SandboxSlots, SlotBusy, UidAllocator


def test_pools_hold_distinct_users_and_give_them_back_when_closed():
    before = UIDS.in_use()
    first, second = SandboxSlots(3, "test:a"), SandboxSlots(2, "test:b")
    held = set(first._uids) | set(second._uids)
    assert len(held) == 5 and UIDS.in_use() == before + 5
    first.close()
    deadline = time.monotonic() + 5
    while UIDS.in_use() != before + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert UIDS.in_use() == before + 2
    third = SandboxSlots(3, "test:c")
    assert not set(third._uids) & set(second._uids)  # reused ones are the closed pool's
    second.close()
    third.close()


def test_the_allocator_refuses_past_its_range_instead_of_sharing():
    uids = UidAllocator(top=1000, count=4)
    assert uids.take(3) == [1000, 999, 998]
    with pytest.raises(RuntimeError, match="no 2 sandbox users left"):
        uids.take(2)
    uids.give_back([999])
    assert uids.take(2) == [999, 997]


def test_a_caller_waits_for_a_slot_then_gets_a_clear_error():
    slots = SandboxSlots(1, "test:busy")
    try:
        with (
            slots.slot(),
            pytest.raises(SlotBusy, match="all 1 test:busy slots stayed busy"),
            slots.slot(wait_s=0.05),
        ):
            pass
        with slots.slot(wait_s=0.05) as uid:  # free again
            assert uid == slots._uids[0]
    finally:
        slots.close()


FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
FORKS_FOUR = (
    "import os, time\n"
    "time.sleep(1.5)\n"  # starts once the bomb next door has used its process limit
    "kids = [os.fork() for _ in range(4)]\n"
    "if 0 in kids:\n    os._exit(0)\n"
    "for k in kids:\n    os.waitpid(k, 0)\n"
    "print('forked 4')"
)


@pytest.mark.skipif(
    shutil.which("bwrap") is None or os.geteuid() != 0,
    reason="users per slot need root and bubblewrap (scripts/test installs it)",
)
def test_a_fork_bomb_in_one_pool_leaves_another_pools_run_its_processes():
    sandbox = Sandbox("bubblewrap")
    limits = Limits(cpu_s=5, wall_s=4, processes=16)
    bomb_pool, other_pool = SandboxSlots(1, "test:bomb"), SandboxSlots(1, "test:other")
    try:
        bomb = threading.Thread(target=bomb_pool.run_here, args=(sandbox, FORK_BOMB, "", limits))
        bomb.start()
        ran = other_pool.run_here(sandbox, FORKS_FOUR, "", limits)
        bomb.join()
    finally:
        bomb_pool.close()
        other_pool.close()
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.strip() == "forked 4"
