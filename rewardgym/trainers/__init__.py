"""Trainer integrations: a TRL reward function (``trl_reward``), verl's ``compute_score``
(``verl``); OpenRLHF talks to the server's ``POST /get_reward``."""

__all__: list[str] = []
