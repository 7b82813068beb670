"""Framework start-up and converter logs, kept off the user's terminal.

TensorFlow prints about twenty lines on stderr for one TFLite verify: absl's
pre-initialisation notice, oneDNN and CPU-feature notes, the MLIR converter's
progress, a deprecation warning of tf.lite.Interpreter, XNNPACK's delegate
notice. Most come from C++ and before Python's logging exists, so the only
complete way to keep them out is to point file descriptor 2 elsewhere while the
framework works. Nothing is lost: if the block fails, what it wrote is printed
(its tail) before the error goes on; `caffe2x --verbose` (or CAFFE2X_VERBOSE=1)
shows everything as it comes."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

VERBOSE_ENV = "CAFFE2X_VERBOSE"
_SHOWN_ON_FAILURE = 8000  # characters of the captured log printed when the block fails


def framework_logs_shown() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def quiet_framework_logs():
    if framework_logs_shown():
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # what TensorFlow's own switch silences
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated")
                yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                sink.seek(0)
                captured = sink.read().decode("utf-8", "replace")
                sys.stderr.write(captured[-_SHOWN_ON_FAILURE:])
