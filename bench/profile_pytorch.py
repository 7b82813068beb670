"""Where `caffe2x convert --to pytorch` spends its time, phase by phase, in a fresh process:

    python bench/profile_pytorch.py PROTOTXT WEIGHTS C,H,W

Runs the steps of caffe2x.targets.torch.export.write_folder one after the other (the
command overlaps saving model.pt with tracing; here they are timed apart) and prints
one JSON line of seconds per phase."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()


def main(argv: list[str]) -> int:
    prototxt, weights, shape = argv
    phases = {}
    mark = [STARTED]

    def lap(name: str) -> None:
        now = time.perf_counter()
        phases[name] = now - mark[0]
        mark[0] = now

    import torch

    lap("import torch")
    from caffe2x import api
    from caffe2x.targets.torch import export, generate

    graph = api.load_net(prototxt, weights, {"data": (1, *(int(d) for d in shape.split(",")))})
    lap("read the net and the caffemodel")
    model = generate(graph)
    lap("generate model.py")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "model.py").write_text(model.source)
        state = export.state_tensors(model)
        torch.save(state, folder / "model.pt")
        lap("write model.pt (tensors viewing the mapped caffemodel)")
        module = export.with_weights(export.load_module_class(folder / "model.py", model.class_name), state)
        lap("build the module (meta device, weights assigned)")
        import torch._dynamo  # noqa: F401  (torch.export imports it on first use)

        lap("import torch.export's machinery")
        program = export.trace_program(module, model)
        lap("torch.export trace")
        torch.export.save(program, folder / "model.pt2")
        lap("torch.export.save (model.pt2)")
    print(json.dumps({"phases": phases, "total": time.perf_counter() - STARTED}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
