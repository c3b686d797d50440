"""Speed, memory and FLOP measurements of training and sampling (tools/benchmark.py)."""
from .configs import CONFIGURATIONS, Setting
from .flops import count_flops
from .run import benchmark, compare, matmul_peak

__all__ = ["CONFIGURATIONS", "Setting", "benchmark", "compare", "count_flops", "matmul_peak"]
