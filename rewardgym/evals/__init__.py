"""Evaluations of rewards against labelled data."""

__all__: list[str] = []
