"""Judge backends: where LLM judges send their chat requests."""

__all__: list[str] = []
