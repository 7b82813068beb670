#!/usr/bin/env bash
# Create .venv (Python 3.10+) and install caffe2x in it, editable, with the
# extras named in $CAFFE2X_EXTRAS (default: dev,all,ray; ray for convert-all --executor ray). Re-running is cheap:
# nothing is reinstalled while pyproject.toml and the extras are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${CAFFE2X_EXTRAS:-dev,all,ray}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.caffe2x-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch must come from the local CPU build (a plain 'torch' pulls GBs of CUDA).
  case ",$extras," in
    *,torch,*|*,all,*) .venv/bin/python -m pip install --quiet "torch==2.13.0" ;;
  esac
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  echo "$want" > "$stamp"
fi
