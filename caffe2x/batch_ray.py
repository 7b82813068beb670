"""convert-all on Ray: each model's convert-and-verify is one Ray task.

The task runs exactly what the local pool runs for a model (batch.run_one: the same
cache, the same worker process, the same result), so the reports of both executors
are the same apart from timings. The driver streams progress as tasks finish and
resubmits a task that failed or was lost (its worker or node died) once; a model
whose task fails twice is reported with an error, never dropped. OUTDIR must be a
path every Ray worker sees (a shared file system on a cluster); results travel back
to the driver as data, the converted models stay where the workers wrote them.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import asdict
from pathlib import Path

from .batch import ModelSpec, run_one
from .errors import Caffe2xError

RETRIES = 1  # a lost or failed task is run once more
GIB = 1 << 30
# Memory a task asks for: the frameworks themselves, plus the weights held several times
# over (the IR, the reference executor's copy, each target's own copy and its file).
BASE_MEMORY = 2 * GIB
WEIGHT_COPIES = 8


def import_ray():
    try:
        import ray
    except ImportError:
        raise Caffe2xError("convert-all --executor ray needs Ray: pip install 'caffe2x[ray]'.") from None
    return ray


def resources_for(spec: ModelSpec, memory_available: float | None = None) -> dict:
    """What one model's task asks Ray for: one CPU (the task is one worker process, as a
    --jobs slot is) and memory from the size of its weights, capped at what the cluster
    has (a request above it would never be scheduled)."""
    weight_bytes = os.path.getsize(spec.weights) if spec.weights and os.path.exists(spec.weights) else 0
    memory = BASE_MEMORY + WEIGHT_COPIES * weight_bytes
    if memory_available:
        memory = min(memory, int(memory_available))
    return {"num_cpus": 1, "memory": memory}


def _run_task(spec_fields: dict, outdir: str, task) -> dict:
    """The body of one Ray task: returns the result as plain data (a ModelResult's as_dict)."""
    return task(ModelSpec(**spec_fields), Path(outdir)).as_dict()


def _start(ray, address: str | None) -> bool:
    """Connect to the cluster at `address` (None: start a local Ray); True if this call started it."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise Caffe2xError(f"convert-all --executor ray: cannot start or reach {where}: {exc}") from None
    return True


def run_on_ray(specs: list[ModelSpec], outdir: str | Path, address: str | None = None, on_start=None,
               on_done=None, task=run_one):
    """Run every model as a Ray task; returns their ModelResults in manifest order.
    `task(spec, outdir) -> ModelResult` is batch.run_one unless a test injects another."""
    from .report.load import model_from_dict

    ray = import_ray()
    started_here = _start(ray, address)
    try:
        memory = ray.cluster_resources().get("memory")
        remote = ray.remote(_run_task)
        pending, failures = {}, {index: [] for index in range(len(specs))}

        def submit(index: int) -> None:
            spec = specs[index]
            options = {**resources_for(spec, memory), "max_retries": 0}  # retries are ours, and reported
            pending[remote.options(**options).remote(asdict(spec), str(outdir), task)] = index

        for index, spec in enumerate(specs):
            if on_start:
                on_start(spec.name)
            submit(index)
        results = [None] * len(specs)
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ref)
            try:
                results[index] = model_from_dict(ray.get(ref))
            except ray.exceptions.RayError as exc:
                failures[index].append(_reason(exc))
                if len(failures[index]) <= RETRIES:
                    submit(index)
                    continue
                results[index] = _failed(specs[index], failures[index])
            results[index].retries = failures[index]
            if on_done:
                on_done(specs[index].name)
        return results
    finally:
        if started_here:
            ray.shutdown()


def _reason(exc: Exception) -> str:
    """One line saying why a task failed: the task's own exception when it raised one (Ray
    wraps it), else Ray's (a dead worker, a lost node), without Ray's terminal colours."""
    exc = getattr(exc, "cause", None) or exc
    first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else 'no message'}"


def _failed(spec: ModelSpec, reasons: list[str]):
    from .report import ModelResult

    return ModelResult(spec.name, spec.prototxt, spec.weights,
                       error=f"its Ray task failed {len(reasons)} times; last: {reasons[-1]}")
