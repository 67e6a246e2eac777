"""Gymnasium environments over rewardgym rewards (see the open issues for what comes next)."""

__all__: list[str] = []
