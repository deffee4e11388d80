# syntax=docker/dockerfile:1
# costbot: the model service, bot and scheduler in one image. CPU by default.
#
#   docker build -t costbot .
#   docker build -t costbot:cuda \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 \
#     --build-arg EXTRAS=postgres,gpu .
#
# Both stages start from BASE_IMAGE, so the virtual environment built in one runs in the other.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# CUDA base images carry no Python of their own; the distribution's python3 is what we want.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi

FROM base AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
ARG EXTRAS=postgres
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from the index that matches the target (CPU or a CUDA build), so the
# dependency resolver never swaps in another build later.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY models models
COPY costing costing
COPY storage storage
# hadolint ignore=DL3013
RUN pip install ".[${EXTRAS}]"

FROM base AS runtime
RUN groupadd --system --gid 10001 costbot \
    && useradd --system --uid 10001 --gid costbot --create-home --home-dir /home/costbot costbot \
    && mkdir /data \
    && chown costbot:costbot /data
COPY --from=build /opt/venv /opt/venv
# The service listens on loopback (127.0.0.1) unless told otherwise: to reach it from another
# container, run `serve --host 0.0.0.0` with COSTBOT_SERVICE_TOKEN set (it refuses to listen
# beyond loopback without one; the bot sends the same variable). compose.yaml does both.
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    COSTBOT_DATA_DIR=/data
USER 10001:10001
WORKDIR /home/costbot
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4)"]
ENTRYPOINT ["costbot"]
# Migrates the database on start: a never-migrated one would leave the service unready.
CMD ["serve", "--migrate"]
