"""TFLite post-training quantization (--quantize float16 | int8 --calibration DIR_OR_NPZ),
and the one statement of how far a quantized model may drift from Caffe.

float16: TensorFlow stores every weight as float16 (after it folds BatchNorm and Scale
into the convolutions, so rounding caffe2x's own weights would not reproduce it) and
computes in float32. int8: weights and activations int8 with scales from a representative
dataset (the calibration inputs), inputs and outputs float32, float kernels where TFLite
has no int8 one. The bounds are normalized max errors max|got-want|/max|want| of the outputs,
measured on the golden nets, with a margin (TOLERANCES: the one place they are stated).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Caffe2xError

FLOAT16, INT8 = "float16", "int8"
QUANTIZE_MODES = (FLOAT16, INT8)


@dataclass(frozen=True)
class QuantizedTolerance:
    bound: float  # the normalized max error a quantized model's outputs may have
    reason: str  # why, said wherever the bound is used

    def note(self, mode: str) -> str:
        return f"--quantize {mode}: stated tolerance {self.bound:g} ({self.reason})"


# Measured normalized max error of the final outputs (tests/test_quantize.py checks the bounds):
# float16: LeNet 5.9e-4, NIN 4.4e-4, GoogLeNet 1.8e-6; int8 (calibrated on 4x the verify batch of
# the same distribution): LeNet 1.6e-2, NIN 1.4e-2, GoogLeNet 3.2e-3. A deep net with random weights
# amplifies the rounding as it amplifies float32's (the 16-block random ResNet-50 reaches 4.8e-2 in
# float16): give such a net its own --tolerance, which wins where it is looser.
TOLERANCES = {
    FLOAT16: QuantizedTolerance(1e-2, "weights rounded to float16 after TensorFlow folds BatchNorm and Scale; "
                                      "measured <= 5.9e-4 on the golden classic nets"),
    INT8: QuantizedTolerance(0.1, "weights and activations rounded to 8 bits with scales from the calibration "
                                  "inputs; measured <= 1.6e-2 on the golden classic nets; see top-1/top-5"),
}


def check_quantize(quantize: str | None, calibration: str | None) -> None:
    """The option combinations that are refused before any work: an unknown mode, int8
    without --calibration, --calibration without int8."""
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise Caffe2xError(f"--quantize must be one of {', '.join(QUANTIZE_MODES)}, not '{quantize}'.")
    if quantize == INT8 and not calibration:
        raise Caffe2xError("--quantize int8 needs --calibration DIR_OR_NPZ: the inputs whose activations set the "
                           "int8 scales (an .npz of net inputs, or a folder of images).")
    if calibration and quantize != INT8:
        raise Caffe2xError("--calibration applies to --quantize int8 only.")


def tolerance(quantize: str | None) -> QuantizedTolerance | None:
    return TOLERANCES.get(quantize) if quantize else None


def configure(converter, quantize: str | None, samples=None) -> None:
    """Set a tf.lite.TFLiteConverter up for `quantize`; samples: the calibration inputs for
    int8, a list of argument lists in the signature's order."""
    import tensorflow as tf

    if quantize is None:
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
        return

    def representative():
        yield from samples

    converter.representative_dataset = representative
