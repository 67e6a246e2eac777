"""The gRPC wire form of the schema: code generated from ``proto/rewardgym/v1/reward.proto``
(``_gen``, by ``scripts/gen_proto.py``) and the conversions both ways (``convert``)."""

__all__: list[str] = []
