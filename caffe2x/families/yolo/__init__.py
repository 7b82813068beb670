"""The YOLO ports' layers as eric612/MobileNet-YOLO (commit 69b4441cb3ec8d553fbdef788ad033e246f901bd)
implements them: Reorg (YOLO v2's passthrough), YoloDetectionOutput (YOLO v2's decode + NMS)
and Yolov3DetectionOutput (YOLO v3's multi-scale decode + NMS). One module per layer:
parameters, shape rule, the fork's arithmetic, reference kernel and an emitter per target; the
two detection outputs share yolo_nms.py (candidates, sort, the fork's greedy NMS, output rows).

The fork's parameter blocks are declared by yolo.proto, the fork's own message definitions,
loaded here so that `import caffe2x` reads MobileNet-YOLO nets typed."""

from pathlib import Path

from ...api import load_proto

SCHEMA = Path(__file__).with_name("yolo.proto")
load_proto(str(SCHEMA))

from . import region, reorg, yolo_detection_output, yolov3_detection_output  # noqa: E402, F401  (each registers its layer)
