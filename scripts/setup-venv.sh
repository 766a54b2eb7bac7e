#!/usr/bin/env bash
# Create the Python virtualenv that provides libtorch (PyPI's torch wheel).
# Usage: scripts/setup-venv.sh VENV_DIR TORCH_VERSION
# Idempotent: does nothing when VENV_DIR already holds that torch version.
set -euo pipefail
venv=${1:?usage: setup-venv.sh VENV_DIR TORCH_VERSION}
torch_version=${2:?usage: setup-venv.sh VENV_DIR TORCH_VERSION}
python=${PYTHON:-python3}

if [ -x "$venv/bin/python" ] &&
  "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
  exit 0
fi
if ! command -v "$python" >/dev/null; then
  echo "setup: $python not found; install Python 3 (Debian: apt-get install python3 python3-venv)" >&2
  exit 2
fi
echo "setup: creating $venv with torch==$torch_version (downloads ~3 GB of wheels the first time)" >&2
if ! "$python" -m venv "$venv"; then
  echo "setup: '$python -m venv' failed; on Debian install python3-venv (apt-get install python3-venv)" >&2
  exit 2
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "torch==$torch_version"
"$venv/bin/python" -c "import torch; print('setup: torch', torch.__version__, 'in', '$venv')" >&2
