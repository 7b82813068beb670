"""Write an .npz as np.load reads it, for any key."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping

import numpy as np


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """np.savez's format (one NAME.npy per key, stored), without its keyword arguments: a key
    named like one of its parameters ("file", "allow_pickle": a net input may be called so)
    would collide with it there."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
