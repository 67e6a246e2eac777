"""The plain baseline for the HTTP rows of bench/baselines.py: a bare FastAPI endpoint that
validates the same body with a minimal pydantic model and answers one float per item."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class BareItem(BaseModel):
    prompt: str = ""
    response: str
    reference: str | None = None


class BareRequest(BaseModel):
    reward: str
    items: list[BareItem]


@app.post("/score")
def score(request: BareRequest) -> list[float]:
    return [float(i.response.strip().lower() == (i.reference or "").lower()) for i in request.items]
