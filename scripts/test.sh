#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite headless: no GPU, no display, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/python -m pytest "$@"
