"""OpenCV with its Caffe importer, for the benchmarks that run the Caffe original in OpenCV DNN.

OpenCV 5 removed the Caffe importer (`readNetFromCaffe` is gone and `readNet` on a prototxt
raises "Caffe importer has been removed"), so these benchmarks need OpenCV 4.x: the `bench`
extra pins opencv-python-headless below 5. Where the environment has OpenCV 5 (as the
project's own venv may, for other reasons), an OpenCV 4 installed beside it with

    pip install --no-deps --target bench/.cache/opencv4 'opencv-python-headless<5'

is used instead, for the benchmark processes only.
"""

from __future__ import annotations

import sys
from pathlib import Path

BESIDE = Path(__file__).resolve().parent / ".cache" / "opencv4"


def cv2_with_caffe():
    """The cv2 module, one that can read Caffe files; a clear error when none is installed."""
    imported = "cv2" in sys.modules  # TensorFlow's Keras imports cv2 when it can: then it stays that one
    if BESIDE.is_dir() and str(BESIDE) not in sys.path:
        sys.path.insert(0, str(BESIDE))
    import cv2

    if not hasattr(cv2.dnn, "readNetFromCaffe"):
        raise RuntimeError(f"OpenCV {cv2.__version__} has no Caffe importer (OpenCV 5 removed it): install "
                           f"'opencv-python-headless<5' (pip install 'caffe2x[bench]'), or beside it with "
                           f"pip install --no-deps --target {BESIDE} 'opencv-python-headless<5'"
                           + (" (cv2 was imported before, by this process: run the benchmark in a fresh one)"
                              if imported else ""))
    return cv2
