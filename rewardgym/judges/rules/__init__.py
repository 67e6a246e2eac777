"""Rule-based (verifiable) rewards."""

__all__: list[str] = []
