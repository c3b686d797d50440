"""INADE: diverse semantic image synthesis with instance-adaptive normalization, in PaddlePaddle.

Importing the package changes nothing in the process (environment, warning
filters, streams). The `inade` command sets the CPU threads and MKL dispatch
before Paddle loads; a program of your own does the same with
``inade.runtime.prepare_process()`` before its first ``import paddle``."""

__version__ = "0.1.0"
