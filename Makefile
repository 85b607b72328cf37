# The few commands people run. Each target sets up .venv itself on a fresh machine.
PYTHON ?= python3
PORT   ?= 8000
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed
READY  := $(VENV)/.installed-dev
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test docs bench bench-ablation bench-ablation-cifar bench-feature-viz bench-own-model bench-pipeline bench-gpu-all bench-estimates bench-first-run bench-serve-start bench-quality bench-quality-scale bench-gpu bench-kd bench-kd-gpu bench-kd-cifar bench-kd-cifar-gpu lint format checkpoint clean

# What the app needs (requirements.txt); `make run` installs only this.
$(RUNTIME): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps --no-build-isolation -e .
	@touch $(RUNTIME)

# Plus the test, lint and browser-driving tools (requirements-dev.txt).
$(READY): $(RUNTIME) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	@touch $(READY)

run: $(RUNTIME)  ## the app on http://127.0.0.1:8000 with the digits default (shipped checkpoint: no training)
	$(VENV)/bin/semvec quickstart
	$(VENV)/bin/semvec serve --port $(PORT)

test: $(READY)  ## lint, then the whole test suite (the manual's strict build included)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

bench: $(READY)  ## performance ratios and explorer latencies; writes bench/out/{core,explorer}.json
	$(PY) -m bench.core
	$(PY) -m bench.explorer

docs: $(READY)  ## the manual as a site in site/ (offline; the test suite builds it too, with --strict)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site
	@echo "the manual: open site/index.html"

lint: $(READY)
	$(PY) -m ruff check .

format: $(READY)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

checkpoint: $(READY)  ## re-make the shipped digits teacher in model_zoo/checkpoints
	$(VENV)/bin/semvec default-checkpoint --epochs 40 --device cpu

clean:
	rm -rf $(VENV) semvec-data bench/out site

bench-load: $(READY)  ## 50 clients for 60 s on the explorer API while a job trains; writes bench/out/load.json
	$(PY) -m bench.load

bench-quality: $(READY)  ## held-out quality of the vectors (digits CNN, resnet20 @32px)
	$(PY) -m bench.quality

bench-quality-scale: $(READY)  ## steps/time to the rank-d bound, eigen vs random start, 1k and 9k neurons (reads ../shared/data)
	$(PY) -m bench.quality_scale

bench-gpu: $(READY)  ## on a CUDA machine: resnet18 alignment ratio + a train job on the GPU
	$(PY) -m bench.gpu --device cuda

bench-kd: $(READY)  ## static KD vs the baselines on digits (5 seeds, CPU); writes bench/out/kd.json
	$(PY) -m bench.kd

bench-kd-gpu: $(READY)  ## on a CUDA machine: static and KD step ratios, resnet32x4 -> resnet8x4
	$(PY) -m bench.kd_gpu --device cuda

bench-kd-cifar: $(READY)  ## static KD on CIFAR-10 photos, ResNet-56 teacher, 5,000 images, 5 seeds (~2 CPU h, resumes); needs ../shared/data
	OMP_NUM_THREADS=1 $(PY) -m bench.kd_cifar

bench-kd-cifar-gpu: $(READY)  ## on a CUDA machine: the full 50,000-image CIFAR-10 run, several students at once on one GPU
	$(PY) -m bench.kd_cifar_gpu --device cuda

bench-ablation: $(READY)  ## semantic neighbours vs random neurons of the same layers, knocked out (digits teacher); writes bench/out/ablation.json
	OMP_NUM_THREADS=1 $(PY) -m bench.ablation

bench-feature-viz: $(READY)  ## seconds per step and per layer of feature visualisation at 8, 32 and 224 px; writes bench/out/feature_viz.json
	$(PY) -m bench.feature_viz

bench-ablation-cifar: $(READY)  ## the same on the public CIFAR-10 ResNet-56 (needs ../shared/data); writes bench/out/ablation-resnet56.json
	OMP_NUM_THREADS=1 $(PY) -m bench.ablation --model resnet56 --anchors 100 --draws 3

bench-own-model: $(READY)  ## your own model on real photos: the public CIFAR-10 ResNet-56 and torchvision:resnet50 @224px, per stage; needs ../shared/data
	$(PY) -m bench.own_model

bench-estimates: $(READY)  ## every job kind once on the digits run: estimate at submit vs the worker's CPU seconds; writes bench/out/estimates.json
	$(PY) -m bench.estimates

bench-pipeline: $(READY)  ## a whole post-hoc run vs one bare decode + forward (ResNet-56, resnet50 @224), stage split, memory at 2,000 and 10,000 images; needs ../shared/data
	$(PY) -m bench.pipeline

bench-gpu-all: $(READY)  ## on a CUDA machine: every GPU check (alignment ratio, AMP training, the pipeline at resnet50 @224 on 10,000 photos, CIFAR distillation) in under 10 minutes; writes bench/out/gpu_all.json
	$(PY) -m bench.gpu_all

bench-first-run: $(READY)  ## the newcomer's path: `make run` in a fresh clone, twice; seconds to a usable map
	$(PY) -m bench.first_run

bench-serve-start: $(READY)  ## server start (health, page) of HEAD vs an earlier revision, side by side
	$(PY) -m bench.serve_start
