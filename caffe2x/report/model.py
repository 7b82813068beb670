"""The records every report format renders: models, their targets, their blobs."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..parity import REPORT_VERSION, VerifyResult

PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass
class TargetResult:
    target: str
    status: str  # passed, failed (a blob over tolerance), error (could not convert or run)
    verify: VerifyResult | None = None
    error: str | None = None
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)  # files written, if any

    @property
    def first_divergence(self):
        return self.verify.first_divergence if self.verify else None

    def as_dict(self) -> dict:
        verify = self.verify.as_dict() if self.verify else {}
        return {"target": self.target, "status": self.status, "error": self.error,
                "seconds": round(self.seconds, 3), "outputs": self.outputs,
                "reference": verify.get("reference"), "compared": verify.get("compared", 0),
                "first_divergence": verify.get("first_divergence"), "blobs": verify.get("blobs", []),
                "skipped": verify.get("skipped", [])}


@dataclass
class ModelResult:
    name: str
    prototxt: str
    weights: str | None
    targets: list[TargetResult] = field(default_factory=list)
    error: str | None = None  # the model itself could not be read
    cached: bool = False
    retries: list[str] = field(default_factory=list)  # why earlier runs of its task failed (Ray)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.targets) and all(t.status == PASSED for t in self.targets)

    def as_dict(self) -> dict:
        return {"name": self.name, "prototxt": self.prototxt, "weights": self.weights, "passed": self.passed,
                "error": self.error, "cached": self.cached,
                "retries": list(self.retries), "targets": [t.as_dict() for t in self.targets]}


@dataclass
class Report:
    models: list[ModelResult]
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"))

    @property
    def passed(self) -> bool:
        return bool(self.models) and all(m.passed for m in self.models)

    def as_dict(self) -> dict:
        from ..version import __version__

        return {"version": REPORT_VERSION, "caffe2x": __version__, "created": self.created, "passed": self.passed,
                "models": [m.as_dict() for m in self.models]}


def target_result(verify: VerifyResult, seconds: float = 0.0, outputs: list[str] | None = None) -> TargetResult:
    return TargetResult(verify.target, PASSED if verify.passed else FAILED, verify, None, seconds, outputs or [])
