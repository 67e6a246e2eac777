"""The reward server: HTTP (FastAPI) and gRPC fronts over one RewardService."""

__all__: list[str] = []
