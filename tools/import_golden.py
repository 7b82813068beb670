"""Copy the real-Caffe golden cases from ../shared/golden into fixtures/golden.

    python tools/import_golden.py [SHARED_GOLDEN_DIR]

Blobs of Caffe's automatic Split layers are dropped everywhere (each equals
its bottom, so nothing is lost). For the two largest cases a documented
subset is kept, to keep the repository lean:
  - resnet50_thin: the stem, the first conv-BN-Scale-ReLU chain of res2a,
    every blob of the projection blocks res3a, res4a and res5a, every
    block's output (Eltwise sum and ReLU), and the head;
  - vgg16_thin: everything but the pre-ReLU outputs of conv1_2..conv3_3
    (their post-ReLU outputs, under the relu names, are kept).
Every layer whose bottoms and tops are all kept is still tested in isolation,
and every kept blob is compared in the end-to-end run.

The SSD-fork cases (ssd_layers, ssd_variants, mobilenet_ssd) are kept whole: the
shared mobilenet_ssd already samples its large backbone blobs (keys LAYER:TOP@idx
and LAYER:TOP@val: 64 flat indices and their values) and keeps every SSD layer and
head blob in full; its caffemodel (23 MB) holds the weights the fork's blobs were made
with, so it cannot be thinned without remaking the case with the fork.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np

FORK_CASES_POINTER = ("\n## Fork cases made by this project\n\nThe cases made with the forks' real pycaffe by "
                      "`tools/make_fork_goldens.py` (`fork_*`, `bvlc_spp`) are described in `FORK_CASES.md`.\n")

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "fixtures" / "golden"

RESNET_KEEP = re.compile(
    r"^(input:|conv1|bn_conv1|scale_conv1|pool1|pool5|fc1000|prob"
    r"|[a-z]*2a_branch2a"  # stage 2 (the largest blobs): its first conv-BN-Scale-ReLU chain
    r"|[a-z_]*[3-5]a[_:]"  # every layer of the res3a/res4a/res5a projection blocks
    r"|res[2-5][a-f](_relu)?:)"  # each block's Eltwise sum and its ReLU
)
VGG_DROP = re.compile(r"^conv(1_2|2_1|2_2|3_1|3_2|3_3):")


def keep_blob(case: str, key: str) -> bool:
    if re.search(r"_split:", key):
        return False
    if case == "resnet50_thin":
        return bool(RESNET_KEEP.match(key))
    if case == "vgg16_thin":
        return not VGG_DROP.match(key)
    return True


def import_case(source: Path, case: str) -> None:
    target = DEST / case
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name != "blobs.npz":
            shutil.copyfile(item, target / item.name)
    with np.load(source / "blobs.npz") as blobs:
        kept = {key: blobs[key] for key in blobs.files if keep_blob(case, key)}
    np.savez_compressed(target / "blobs.npz", **kept)
    size = sum(f.stat().st_size for f in target.iterdir())
    print(f"{case}: {len(kept)} blobs, {size / 1e6:.1f} MB")


def main(argv: list[str]) -> int:
    shared = Path(argv[0]) if argv else ROOT.parent / "shared" / "golden"
    for source in sorted(p for p in shared.iterdir() if p.is_dir()):
        import_case(source, source.name)
    shutil.copyfile(shared / "README.md", DEST / "README.md")
    with open(DEST / "README.md", "a", encoding="utf-8") as readme:  # the project's own cases, kept apart
        readme.write(FORK_CASES_POINTER)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
