"""Speed, memory and FLOP measurements of training and sampling (tools/benchmark.py).

configs: the named settings and their synthetic inputs; flops: what is counted;
timing: clocks, peak memory, the matmul peak; measure: one setting, in its own
process; report: tables, comparisons, the scaling figure."""
from .configs import CONFIGURATIONS, Setting, resolve
from .flops import count_flops, count_training_flops
from .measure import benchmark, measure_setting, scaling
from .report import compare, table
from .timing import matmul_peak

__all__ = ["CONFIGURATIONS", "Setting", "benchmark", "compare", "count_flops", "count_training_flops", "matmul_peak",
           "measure_setting", "resolve", "scaling", "table"]
