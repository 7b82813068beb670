"""Rebuild report records from their JSON form (convert-all's cached results)."""

from __future__ import annotations

from ..compare import BlobError
from ..parity import BlobRecord, VerifyResult
from .model import ModelResult, TargetResult


def _record(blob: dict) -> BlobRecord:
    error = BlobError(blob["normalized_max"], blob["max_abs"], blob["mean_abs"], blob["cosine"])
    return BlobRecord(blob["layer"], blob["top"], list(blob["shape"]), error, blob["tolerance"], blob.get("top1"),
                      blob.get("top5"), blob.get("index", 0), blob.get("note"))


def target_from_dict(data: dict, net: str) -> TargetResult:
    verify = None
    if data.get("reference") is not None:
        verify = VerifyResult(net, data["target"], data["reference"], [_record(b) for b in data["blobs"]],
                              list(data.get("skipped", [])))
    return TargetResult(data["target"], data["status"], verify, data.get("error"), data.get("seconds", 0.0),
                        list(data.get("outputs", [])))


def model_from_dict(data: dict) -> ModelResult:
    return ModelResult(data["name"], data["prototxt"], data.get("weights"),
                       [target_from_dict(t, data["name"]) for t in data.get("targets", [])], data.get("error"),
                       data.get("cached", False), list(data.get("retries", [])))
