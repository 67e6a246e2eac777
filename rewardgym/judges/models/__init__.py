"""Model-based rewards (construction basis ``model``): sequence reward models
(``reward_model``), process reward models (``process_reward_model``), embedding similarity
(``embedding_similarity``) and the implicit reward of a DPO policy (``implicit_reward``).

Each loads its model once per process (``judges.runtime.model_loader``) and runs concurrent
requests in micro-batches (``batcher``); torch and transformers are imported only when a
model is used.
"""

__all__: list[str] = []
