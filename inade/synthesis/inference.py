"""Run an exported model with Paddle Inference."""
from __future__ import annotations

import os

import numpy as np


def cpu_threads() -> int:
    """The threads a predictor's CPU kernels use: OMP_NUM_THREADS, as eager
    Paddle in this process uses (inade.runtime sets it to the cores it may run
    on), else 1, Paddle Inference's own default."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def load_predictor(prefix: str, onednn: bool = True, threads: int | None = None):
    """A Paddle Inference predictor for ``prefix``.json/.pdiparams written by export_model.

    ``onednn``: run Paddle Inference's oneDNN passes and kernels (the export
    writes its graphs in a form they run, see inade.synthesis.export_graph);
    False for Paddle's plain CPU kernels. ``threads``: default cpu_threads().
    The predictor runs on the CPU."""
    from paddle import inference

    config = inference.Config(prefix + ".json", prefix + ".pdiparams")
    if onednn:
        config.enable_onednn()
    else:
        config.disable_onednn()
    config.set_cpu_math_library_num_threads(threads or cpu_threads())
    config.disable_glog_info()  # its per-pass log says nothing to a user running the model
    return inference.create_predictor(config)


def predict(predictor, *inputs: np.ndarray) -> list[np.ndarray]:
    for name, value in zip(predictor.get_input_names(), inputs):
        handle = predictor.get_input_handle(name)
        handle.reshape(list(value.shape))
        handle.copy_from_cpu(np.ascontiguousarray(value, dtype=np.float32))
    predictor.run()
    return [predictor.get_output_handle(name).copy_to_cpu() for name in predictor.get_output_names()]
