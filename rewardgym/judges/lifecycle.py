"""What the rewards of a process share, started and released in one place: the rule workers
that large rule batches run in, and every shared worker pool. A service calls ``start_shared``
before it says it is ready and ``close_shared`` when it closes; rewards release their own
resources in ``Reward.aclose``."""

from __future__ import annotations

from rewardgym.judges.runtime.shared_pools import close_shared_pools, shared_pool
from rewardgym.judges.sync_rule import SyncRule

__all__ = ["close_shared", "start_shared"]


async def start_shared() -> None:
    """Start the rule workers now: the first large rule batch must not wait for them."""
    await shared_pool(SyncRule.worker_target).start()


async def close_shared() -> None:
    """Close every shared worker pool of this process (rule, math and code workers)."""
    await close_shared_pools()
