"""Run an exported model with Paddle Inference."""
from __future__ import annotations

import numpy as np


def load_predictor(prefix: str):
    """A Paddle Inference predictor for ``prefix``.json/.pdiparams written by export_model.

    oneDNN stays off: with it, Paddle Inference fails on exported (PIR) models on CPU."""
    from paddle import inference

    config = inference.Config(prefix + ".json", prefix + ".pdiparams")
    config.disable_mkldnn()
    config.disable_glog_info()  # its per-pass log says nothing to a user running the model
    return inference.create_predictor(config)


def predict(predictor, *inputs: np.ndarray) -> list[np.ndarray]:
    for name, value in zip(predictor.get_input_names(), inputs):
        handle = predictor.get_input_handle(name)
        handle.reshape(list(value.shape))
        handle.copy_from_cpu(np.ascontiguousarray(value, dtype=np.float32))
    predictor.run()
    return [predictor.get_output_handle(name).copy_to_cpu() for name in predictor.get_output_names()]
