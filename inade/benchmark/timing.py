"""Clocks, memory and the machine: median of timed runs after warm-up, peak
resident memory per measure, and the fp32 matmul rate to compare against."""
from __future__ import annotations

import os
import platform
import resource
import time

import numpy as np
import paddle

from ..backends.conv import convolution_kernels


def median_seconds(fn, runs: int, warmup: int) -> float:
    """Median wall time of ``runs`` calls of ``fn`` after ``warmup`` untimed
    ones (the first calls pay for kernel selection and allocator growth).
    ``fn`` must wait for its result, e.g. by reading a value back."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_peak(size: int = 2048, runs: int = 5) -> float:
    """This machine's fp32 matmul rate, GFLOP/s: a size x size product (2 size^3
    FLOPs), median of ``runs``. The achievable ceiling the networks' rates are
    put against, measured in the same run under the same load and threads."""
    a, b = paddle.randn([size, size]), paddle.randn([size, size])
    seconds = median_seconds(lambda: float(paddle.matmul(a, b)[0, 0]), runs, 2)
    return 2 * size**3 / seconds / 1e9


class PeakMemory:
    """Peak resident memory of this process, per measure where Linux allows it.

    Writing 5 to /proc/self/clear_refs sets the high-water mark (VmHWM) back to
    the current resident size, so each measure's peak is its own (it still
    includes what is resident when it starts: weights, inputs, freed memory the
    allocator keeps). Without that, peaks are cumulative over the process,
    ``per_measure`` says which.
    """

    def __init__(self):
        self.per_measure = self.reset()

    @staticmethod
    def reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    @staticmethod
    def _status_kb(key: str):
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def peak_gb(self) -> float:
        """Peak since the last reset (VmHWM), else since the process started."""
        kb = self._status_kb("VmHWM")
        return (kb if kb is not None else self.process_peak_kb()) / 1024**2

    @staticmethod
    def process_peak_kb() -> int:
        # ru_maxrss (kB on Linux) is never reset: the whole process's peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def process_peak_gb(self) -> float:
        return self.process_peak_kb() / 1024**2


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the numbers depend on besides the code, for reading a result file later."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(), "cores": cores, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_1min": load, "paddle": paddle.__version__, "python": platform.python_version(),
        "cuda": paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0,
        "cpu_convolutions": convolution_kernels(),
    }

