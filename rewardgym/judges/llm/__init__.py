"""LLM-as-judge rewards: a template builds the messages, a parser reads the verdict."""

__all__: list[str] = []
