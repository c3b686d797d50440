"""Image grids that show how training goes: label | real | fake | another fake."""
from __future__ import annotations

import numpy as np
import paddle

from ..visuals import colorize_labels, grid, to_uint8_image


def _second_fake(training, semantics, instances, positional):
    """A sample with fresh noise, drawn from a private seed so the training
    run's random stream (and therefore its resumed twin) is not disturbed."""
    saved = paddle.get_rng_state()
    paddle.seed(training.iteration + 12345)
    # Eval mode: batch norm must not fold this extra forward into its running statistics.
    training.generator.eval()
    try:
        with paddle.no_grad():
            return training.generator(semantics, instances, positional=positional)
    finally:
        training.generator.train()
        paddle.set_rng_state(saved)


def training_grid(training, batch, inputs, fake, max_rows: int = 4) -> np.ndarray:
    """inputs: (semantics, instances, image, positional map or None) of the batch."""
    semantics, instances, image, positional = inputs
    rows = min(max_rows, image.shape[0])
    other = _second_fake(training, semantics[:rows], instances[:rows],
                         None if positional is None else positional[:rows]).numpy()
    labels = np.asarray(batch["label"])[:rows, 0]
    colours = colorize_labels(labels, training.num_classes)
    real, fake = image.numpy(), fake.numpy()
    return grid(
        [[colours[i], to_uint8_image(real[i]), to_uint8_image(fake[i]), to_uint8_image(other[i])] for i in range(rows)]
    )
