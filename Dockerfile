# semvec in a container: the API, the page and the job runner on port 8000, the digits
# default made on first start from the shipped checkpoint (no training, ~15 s).
#
#   docker build -t semvec .                                    # CPU (the default)
#   docker build -t semvec:cuda --build-arg TORCH_VARIANT=cuda .
#   docker run -p 8000:8000 -v semvec-data:/data semvec         # then http://127.0.0.1:8000
#   docker run --gpus all -p 8000:8000 -v semvec-data:/data semvec:cuda
#
# Build arguments:
#   BASE           an image with Python 3.11 (python and its venv module): the official
#                  slim image by default; scripts/docker/make-base makes one offline.
#   TORCH_VARIANT  cpu: torch and torchvision from PyTorch's CPU wheel index (no CUDA
#                  libraries: the image stays ~1.7 GB); cuda: the PyPI builds, which bring
#                  CUDA 13 with them as nvidia-* wheels (6.5 GB; a host driver for CUDA 13).
#   TORCH_INDEX    any other index for torch and torchvision (one of PyTorch's cuXYZ
#                  indexes for an older driver, or a local mirror); overrides the variant.
# Versions are requirements.txt's pins, read from it: torch==2.14.1 and torchvision==0.29.1
# install as 2.14.1+cpu and 0.29.1+cpu from the CPU index (PyTorch publishes every release
# there; a local version label satisfies the `==` pin). The test tools live in
# requirements-dev.txt and stay out.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX=
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    NUMBA_CACHE_DIR=/opt/numba-cache \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Run as a user of its own; the data home is a volume it owns.
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/semvec semvec \
 && mkdir /data && chown semvec:semvec /data

# Dependencies first, in one layer of their own: editing the code does not reinstall them.
# Importing umap-learn compiles pynndescent with numba (~25 s on 2 cores); done once here,
# into a cache the user can read (and extend, on another CPU), every start is that much
# faster.
COPY requirements.txt /tmp/requirements.txt
RUN set -eu; \
    case "$TORCH_VARIANT" in \
      cpu) index=https://download.pytorch.org/whl/cpu ;; \
      cuda) index=https://pypi.org/simple ;; \
      *) echo "TORCH_VARIANT is cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 2 ;; \
    esac; \
    index="${TORCH_INDEX:-$index}"; \
    python -m venv "$VIRTUAL_ENV"; \
    pip install --index-url "$index" $(grep -E '^(torch|torchvision)==' /tmp/requirements.txt); \
    grep -vE '^(torch|torchvision)==' /tmp/requirements.txt >/tmp/runtime.txt; \
    pip install -r /tmp/runtime.txt; \
    pip check; \
    rm /tmp/requirements.txt /tmp/runtime.txt; \
    python -c "import umap"; \
    chown -R semvec:semvec "$NUMBA_CACHE_DIR"

# The repository's layout as it is (app/ finds its assets at ../assets), installed
# editable. Bytecode is compiled now: the user cannot write it next to the sources later.
WORKDIR /app
COPY . /app
RUN pip install --no-deps --no-build-isolation -e /app \
 && python -m compileall -q /app/app /app/backend /app/model_zoo \
 && semvec --help >/dev/null

USER semvec
ENV HOME=/home/semvec \
    SEMVEC_HOME=/data \
    SEMVEC_PORT=8000
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "/app/scripts/docker/healthcheck.py"]
ENTRYPOINT ["/app/scripts/docker/entrypoint"]
