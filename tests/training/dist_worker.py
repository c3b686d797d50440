"""Run under paddle.distributed.launch by the data-parallel test: trains the
tiny configuration, then every rank writes a digest of its trainable parameters."""
import hashlib
import os
import sys

from inade.runtime import prepare_process

prepare_process()  # an entry point: threads and MKL before paddle loads

import numpy as np  # noqa: E402

from inade.config import load_config  # noqa: E402
from inade.training import loop  # noqa: E402


def main(config_path, out_dir):
    captured = {}
    original = loop.Training.step

    def step(self, *args):
        captured["training"] = self
        return original(self, *args)

    loop.Training.step = step
    loop.train(load_config(config_path))
    training = captured["training"]
    digest = hashlib.sha256()
    for network in training.networks:
        # Trainable parameters only: batch-norm statistics are per process on CPU.
        for name, value in sorted(network.named_parameters()):
            if not value.stop_gradient:
                digest.update(name.encode())
                digest.update(value.numpy().tobytes())
    rank = os.environ.get("PADDLE_TRAINER_ID", "0")
    with open(os.path.join(out_dir, f"rank{rank}.txt"), "w") as f:
        f.write(f"{digest.hexdigest()} {training.iteration} {len(training.sampler)}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
