"""Every reward: rules, models, LLM judges, and their backends."""

__all__: list[str] = []
