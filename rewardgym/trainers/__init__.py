"""Trainer integrations (TRL, OpenRLHF, verl) and self-rewarding DPO (see the open issues)."""

__all__: list[str] = []
