"""The cost of per-layer `verify` on every target, phase by phase, in one process:

    python bench/verify_cost.py PROTOTXT WEIGHTS C,H,W TARGET[,TARGET...]

Prints one JSON line: seconds and memory (current and peak RSS, MB) after each
phase: loading, the NumPy reference forward (every blob kept), then for each
target its conversion plus a run that returns every Caffe blob, and the
comparison. As `caffe2x verify` does, only one target's blobs exist at a time:
the current RSS after each target shows whether that holds."""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import weakref
from pathlib import Path


def rss_mb() -> tuple[float, float]:
    """Current and peak resident set size of this process."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    current = pages * resource.getpagesize() / 2**20
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    prototxt, weights, shape, targets = argv
    shape = tuple(int(d) for d in shape.split(","))
    phases = []

    def phase(name: str, started: float, **extra) -> None:
        current, peak = rss_mb()
        phases.append({"phase": name, "seconds": time.perf_counter() - started, "rss_mb": current,
                       "peak_rss_mb": peak, **extra})

    started = time.perf_counter()
    from caffe2x import api
    from caffe2x.parity import compare_blobs
    from caffe2x.targets import TARGETS

    graph = api.load_net(prototxt, weights, {"data": (1, *shape)})
    inputs = api.random_inputs(graph, 0)
    phase("load", started)
    started = time.perf_counter()
    reference = api.reference_blobs("builtin", prototxt, weights, graph, inputs)
    phase("reference", started, blobs=len(reference), blob_mb=sum(a.nbytes for a in reference.values()) / 2**20)
    for target in targets.split(","):
        started = time.perf_counter()
        # The two steps of caffe2x.api.verify, timed apart.
        got = TARGETS.get(target).run(graph, inputs, "cpu")
        phase(f"{target}: convert + run", started, blobs=len(got),
              blob_mb=sum(a.nbytes for a in got.values()) / 2**20)
        started = time.perf_counter()
        result = compare_blobs(graph, target, "builtin", got, reference, 3e-4)
        watchers = [weakref.ref(array) for array in got.values()]
        del got
        gc.collect()
        phase(f"{target}: compare", started, passed=result.passed, compared=len(result.records),
              worst=max(r.error.normalized_max for r in result.records),
              alive_after=sum(w() is not None for w in watchers))
    print(json.dumps({"phases": phases}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
