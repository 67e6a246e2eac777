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


needs_root_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None or os.geteuid() != 0,
    reason="users per slot need root and bubblewrap (scripts/test installs it)",
)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_program_that_never_reads_a_large_stdin_still_stops_at_its_wall_clock():
    sandbox = Sandbox("bubblewrap")
    started = time.monotonic()
    ran = sandbox.run("import time\ntime.sleep(60)", "x" * 1_000_000, Limits(wall_s=2))
    assert ran.timed_out and time.monotonic() - started < 10


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_program_that_forges_bwraps_setup_error_is_not_run_again():
    forged = (
        "import sys, time\ntime.sleep(1)\n"
        "sys.stderr.write('bwrap: Creating new namespace failed: Resource temporarily unavailable')"
        "\nsys.exit(1)"
    )
    started = time.monotonic()
    ran = Sandbox("bubblewrap").run(forged, limits=Limits(wall_s=5))
    assert ran.exit_code == 1 and time.monotonic() - started < 3  # one run, not four


@needs_root_bwrap
def test_no_slot_runs_as_the_probes_user_so_a_bomb_cannot_fail_a_new_sandbox():
    from rewardgym.judges.runtime.sandbox import NOBODY

    bomb_pool = SandboxSlots(1, "test:bomb2")
    assert NOBODY not in bomb_pool._uids
    try:
        limits = Limits(cpu_s=5, wall_s=4, processes=16)
        bomb = threading.Thread(
            target=bomb_pool.run_here, args=(Sandbox("bubblewrap"), FORK_BOMB, "", limits)
        )
        bomb.start()
        time.sleep(1.5)
        Sandbox("bubblewrap")  # its probe runs now, as NOBODY: it starts
        bomb.join()
    finally:
        bomb_pool.close()


def test_inline_code_specs_share_one_pool_whatever_workers_they_ask_for():
    from rewardgym.judges.rules.code import INLINE_WORKERS, CodeReward
    from rewardgym.schema import RewardSpec

    pools = []
    before = UIDS.in_use()
    for workers in (1, 7, 64, 200):
        reward = CodeReward(RewardSpec(type="code", params={"workers": workers}))
        reward.label = "inline:code"
        pools.append(reward.slots())
    assert all(pool is pools[0] for pool in pools) and pools[0].size == INLINE_WORKERS
    assert UIDS.in_use() - before <= INLINE_WORKERS  # none, if an earlier test made the pool


@needs_root_bwrap
def test_back_to_back_runs_as_one_user_all_succeed():
    """A run's processes are still being reaped when the next run of its user starts, so bwrap
    may fail to fork (EAGAIN) at first: that is retried (and a forged one is not, above)."""
    sandbox = Sandbox("bubblewrap")
    limits = Limits(wall_s=10, processes=8)
    failed = []
    for i in range(60):
        ran = sandbox.run("print(input())", f"{i}\n", limits, uid=65000)
        if ran.exit_code != 0 or ran.stdout.strip() != str(i):
            failed.append((ran.exit_code, ran.stderr[-120:]))
    assert failed == []
