#!/usr/bin/env bash
# Set up Bearing Inspector in ./.venv (idempotent: a second run only checks and is quick).
#   bash scripts/setup.sh          core + GUI + test extras
#   bash scripts/setup.sh --gui    also installs the X11 libraries Qt needs on Debian/Ubuntu (root)
# torch/torchvision are installed first and pinned, so no resolver downloads another build.
# GPU users: install your own CUDA torch into .venv before running this; it is kept if present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_gui_libs=0
for a in "$@"; do [ "$a" = "--gui" ] && want_gui_libs=1; done

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating virtual environment .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "[setup] installing torch==2.14.1 torchvision==0.29.1 (large; a few minutes)"
  "$VPY" -m pip install --quiet --upgrade pip
  "$VPY" -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
fi
echo "[setup] installing bearing-inspector with test extras"
"$VPY" -m pip install --quiet -e ".[test]"
# opencv-python (non-headless) ships Qt plugins that break PySide6; refuse to run with it.
if "$VPY" -m pip show opencv-python >/dev/null 2>&1; then
  echo "[setup] ERROR: opencv-python is installed next to PySide6; run: .venv/bin/pip uninstall -y opencv-python && .venv/bin/pip install --force-reinstall opencv-python-headless" >&2
  exit 1
fi
if [ $want_gui_libs = 1 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! dpkg -s libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libegl1 libxkbcommon-x11-0 >/dev/null 2>&1; then
    echo "[setup] installing the X11 libraries Qt needs"
    apt-get update -qq && apt-get install -y -qq libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
      libxcb-image0 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 >/dev/null
  fi
fi
echo "[setup] ready: .venv/bin/bearing-gui (desktop app), .venv/bin/bearing-inspect --help (CLI)"
