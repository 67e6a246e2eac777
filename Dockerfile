# syntax=docker/dockerfile:1
# rewardgym reward server: HTTP on 8000, gRPC on 50051, as an unprivileged user.
#   docker build -t rewardgym .                       (rule rewards, LLM judges, Redis cache)
#   docker build --build-arg EXTRAS=redis,models .    (+ reward models; torch is large)

# ---- build: a virtual environment with rewardgym and its extras -------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rewardgym ./rewardgym
ARG EXTRAS=redis,postgres
RUN pip install ".[${EXTRAS}]"

# ---- runtime: the venv, bubblewrap for the code reward, no compilers, no root -------------------
FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin rewardgym \
    && mkdir -p /var/cache/rewardgym && chown rewardgym /var/cache/rewardgym
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REWARDGYM_HOST=0.0.0.0 \
    REWARDGYM_PORT=8000 \
    REWARDGYM_GRPC_PORT=50051 \
    REWARDGYM_LOG_FORMAT=json \
    REWARDGYM_CACHE_DIR=/var/cache/rewardgym
USER rewardgym
WORKDIR /home/rewardgym
EXPOSE 8000 50051
# Ready = rewards loaded and warm; 503 while starting and while draining after SIGTERM.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["rewardgym", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["rewardgym", "serve"]
