"""The exported model (Paddle Inference) against eager sampling on the same
inputs: both timed alternately in one process, so that whatever else the
machine runs meanwhile weighs on both alike."""
from __future__ import annotations

import copy
import os
import tempfile
import time

import numpy as np
import paddle

from ..networks.spectral import fold_spectral_norm
from ..synthesis.export import generator_inputs, save_encoder, save_generator
from ..synthesis.inference import load_predictor, predict


def interleaved_seconds(functions: dict, runs: int, warmup: int) -> dict:
    """Median wall time of each of ``functions`` (name -> callable that waits
    for its result), called in turn: warmup rounds untimed, then ``runs`` rounds."""
    times = {name: [] for name in functions}
    for round_index in range(warmup + runs):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def _generator_arrays(generator, semantics, instances, seed: int = 0) -> dict:
    """Every input the generator can take, by the exported graph's names, with fixed noise."""
    rng = np.random.default_rng(seed)
    batch = semantics.shape[0]
    arrays = {"semantics": semantics.numpy(), "instances": None if instances is None else instances.numpy(),
              "instance_noise": None, "z": None}
    if generator.per_instance_styles:
        arrays["instance_noise"] = rng.standard_normal((batch, instances.shape[1], 2, generator.noise_nc)).astype("float32")
    if generator.use_z:
        arrays["z"] = rng.standard_normal((batch, generator.z_dim)).astype("float32")
    return arrays


def _compare(eager_call, predictor, inputs: list, runs: int, warmup: int) -> dict:
    def eager():
        with paddle.no_grad():
            outputs = eager_call()
        return [t.numpy() for t in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]

    difference = max(float(np.abs(a - b).max()) for a, b in zip(predict(predictor, *inputs), eager()))
    seconds = interleaved_seconds({"exported": lambda: predict(predictor, *inputs), "eager": eager}, runs, warmup)
    return {"seconds": seconds["exported"], "eager_seconds_alongside": seconds["eager"],
            "max_abs_difference_to_eager": difference}


def exported_inference(generator, encoder, semantics, instances, encoder_args, runs: int = 3,
                       warmup: int = 1, onednn: bool = True) -> dict:
    """{"exported_generator_inference": ..., "exported_encoder_inference": ...}
    (the second without an encoder): seconds of the predictor, seconds of the
    eager network (spectral norm folded, as sampling runs it) timed alongside,
    and the largest difference of their outputs. ``encoder_args``: the
    encoder's inputs (image, and instances for INADE's)."""
    size = tuple(int(s) for s in semantics.shape[2:])
    arrays = _generator_arrays(generator, semantics, instances)
    names = [spec.name for spec in generator_inputs(generator, *size)]
    eager_generator = fold_spectral_norm(copy.deepcopy(generator)).eval()
    tensors = {name: None if value is None else paddle.to_tensor(value) for name, value in arrays.items()}
    result = {}
    with tempfile.TemporaryDirectory(prefix="inade-exported-") as folder:
        prefix = save_generator(generator, size, os.path.join(folder, "generator"))
        result["exported_generator_inference"] = _compare(
            lambda: eager_generator(**tensors), load_predictor(prefix, onednn), [arrays[n] for n in names], runs, warmup)
        if encoder is not None:
            eager_encoder = fold_spectral_norm(copy.deepcopy(encoder)).eval()
            prefix = save_encoder(encoder, size, os.path.join(folder, "encoder"))
            result["exported_encoder_inference"] = _compare(
                lambda: eager_encoder(*encoder_args), load_predictor(prefix, onednn), [t.numpy() for t in encoder_args],
                runs, warmup)
    return result
