"""The package version, in a module of its own so that any layer of the package may read it."""

__version__ = "0.1.0"


# The frameworks the targets use, as their distributions are named on PyPI
# (tensorflow-cpu and onnxruntime-gpu are the same modules under other names).
FRAMEWORK_DISTRIBUTIONS = (
    ("onnx", ("onnx",)), ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")), ("torch", ("torch",)),
    ("tensorflow", ("tensorflow", "tensorflow-cpu")), ("keras", ("keras",)), ("protobuf", ("protobuf",)),
    ("numpy", ("numpy",)),
)


def installed_version(distributions: tuple[str, ...]) -> str | None:
    """The version of the first of `distributions` that is installed (read from its
    metadata: nothing is imported), or None."""
    from importlib.metadata import PackageNotFoundError, version

    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def version_report() -> str:
    """`caffe2x --version`: caffe2x's version, Python's and each framework's (or "not installed")."""
    import platform

    lines = [f"caffe2x {__version__}", f"python {platform.python_version()}"]
    for label, distributions in FRAMEWORK_DISTRIBUTIONS:
        lines.append(f"{label} {installed_version(distributions) or 'not installed'}")
    return "\n".join(lines)
