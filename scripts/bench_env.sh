#!/usr/bin/env bash
# Build the benchmark-only environment for scripts/bench_metrics.py: a separate venv with anomalib,
# so that its AUPRO can be timed next to ours without adding anomalib to the project.
#   bash scripts/bench_env.sh            -> creates /tmp/bearing_bench_env (or $BENCH_ENV)
# The venv lives outside the repository; bench_metrics.py finds it through the same $BENCH_ENV.
set -euo pipefail
ENV_DIR=${BENCH_ENV:-/tmp/bearing_bench_env}
PY=${PYTHON:-python3}
if [ ! -x "$ENV_DIR/bin/python" ]; then
  echo "[bench_env] creating $ENV_DIR"
  "$PY" -m venv "$ENV_DIR"
fi
VPY="$ENV_DIR/bin/python"
# torch/torchvision first, pinned to the builds on this machine's disk, so anomalib's resolver keeps them.
"$VPY" -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
"$VPY" -m pip install --quiet "anomalib>=2.3" opencv-python-headless
"$VPY" -c "import anomalib; from anomalib.metrics import AUPRO; print('[bench_env] anomalib', anomalib.__version__, 'ready in $ENV_DIR')"
