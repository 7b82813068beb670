"""`python -m caffe2x`: the same command line as `caffe2x`."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="caffe2x")
