"""The package version, in a module of its own so that any layer of the package may read it."""

__version__ = "0.1.0"
