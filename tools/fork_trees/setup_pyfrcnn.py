"""Make py-faster-rcnn's `lib` importable by a Python 3 pycaffe, so its real ProposalLayer runs as a Python layer.

    python3 tools/fork_trees/setup_pyfrcnn.py PY_FASTER_RCNN_CHECKOUT OUT_DIR
    PYTHONPATH=<TREE>/python:OUT_DIR/lib /usr/bin/python3 tools/make_fork_goldens.py fork_proposal

PY_FASTER_RCNN_CHECKOUT is rbgirshick/py-faster-rcnn at COMMIT (a work tree). Only the modules the
ProposalLayer imports are copied (rpn/proposal_layer.py, rpn/generate_anchors.py, fast_rcnn/config.py,
fast_rcnn/bbox_transform.py, fast_rcnn/nms_wrapper.py, nms/py_cpu_nms.py and their __init__.py), then
converted mechanically (each change is recorded in every manifest by make_fork_goldens.PYFRCNN_CHANGES):
  - lib2to3 (print statements, xrange, iteritems, has_key, implicit relative imports);
  - proposal_layer.py: yaml.load(s) -> yaml.load(s, Loader=yaml.FullLoader) (PyYAML 6 requires a loader; the
    param_str `'feat_stride': 16` reads the same with every loader);
  - the Cython/CUDA NMS modules are not built: nms/cpu_nms.py and nms/gpu_nms.py are shims, cpu_nms being
    nms/py_cpu_nms.py's py_cpu_nms (the repository's own pure-NumPy NMS), and pyfrcnn_py3_shim.py sets
    cfg.USE_GPU_NMS = False (what a CPU-only py-faster-rcnn user sets), so nms_wrapper.nms calls py_cpu_nms;
  - pyfrcnn_py3_shim.py adapts two pycaffe differences of the BVLC-era tree (weiliu89/caffe ssd) from
    caffe-fast-rcnn: caffe.Layer.param_str_ (caffe-fast-rcnn's name) reads param_str, and cfg['0'] / cfg['1']
    alias cfg.TRAIN / cfg.TEST because this pycaffe sets Layer.phase to int(phase) where caffe-fast-rcnn's
    `phase` property is the Phase enum (str(self.phase) == 'TEST').
easydict (which config.py imports) must be importable: `pip install --target OUT_DIR/deps easydict` and put
OUT_DIR/deps on PYTHONPATH too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

COMMIT = "781a917b378dbfdedb45b6a56189a31982da1b43"
MODULES = ["rpn/__init__.py", "rpn/proposal_layer.py", "rpn/generate_anchors.py", "fast_rcnn/__init__.py",
           "fast_rcnn/config.py", "fast_rcnn/bbox_transform.py", "fast_rcnn/nms_wrapper.py", "nms/__init__.py",
           "nms/py_cpu_nms.py"]
YAML_OLD = "yaml.load(self.param_str_)"
YAML_NEW = "yaml.load(self.param_str_, Loader=yaml.FullLoader)"

CPU_NMS = '''"""Shim (setup_pyfrcnn.py): the Cython cpu_nms is not built; py-faster-rcnn's own py_cpu_nms stands in."""
from .py_cpu_nms import py_cpu_nms as cpu_nms  # noqa: F401
'''
GPU_NMS = '''"""Shim (setup_pyfrcnn.py): no CUDA here; cfg.USE_GPU_NMS is False so this is never called."""


def gpu_nms(dets, thresh, device_id=0):
    raise RuntimeError("gpu_nms is not available in this CPU-only setup")
'''
SHIM = '''"""Shim (setup_pyfrcnn.py): adapt this pycaffe (BVLC-era) to what py-faster-rcnn's layers expect."""
import caffe
from fast_rcnn.config import cfg

cfg.USE_GPU_NMS = False  # CPU-only: nms_wrapper.nms -> cpu_nms -> py_cpu_nms
cfg["0"] = cfg.TRAIN  # this pycaffe's Layer.phase is int(phase); caffe-fast-rcnn's str(phase) is 'TRAIN'/'TEST'
cfg["1"] = cfg.TEST
caffe.Layer.param_str_ = property(lambda self: self.param_str)  # caffe-fast-rcnn's name for param_str
'''


def convert(checkout: Path, out: Path) -> None:
    lib = out / "lib"
    for module in MODULES:
        target = lib / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkout / "lib" / module, target)
    subprocess.run([sys.executable, "-m", "lib2to3", "-w", "-n", "--no-diffs", str(lib)], check=True)
    layer = lib / "rpn" / "proposal_layer.py"
    text = layer.read_text()
    if YAML_OLD not in text:
        raise SystemExit(f"{layer}: expected {YAML_OLD!r}")
    layer.write_text(text.replace(YAML_OLD, YAML_NEW, 1))
    (lib / "nms" / "cpu_nms.py").write_text(CPU_NMS)
    (lib / "nms" / "gpu_nms.py").write_text(GPU_NMS)
    (lib / "pyfrcnn_py3_shim.py").write_text(SHIM)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
