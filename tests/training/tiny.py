"""A tiny training configuration for tests: seconds per run on a CPU."""
import os

import yaml

TINY = {
    "data": {"type": "procedural", "crop_size": 32, "procedural_samples": 16, "batch_size": 2, "num_workers": 0},
    "model": {"ngf": 4, "ndf": 8, "noise_nc": 4, "z_dim": 16},
    "loss": {"lambda_vgg": 0.0},
    "optim": {"iterations": 4},
    "logging": {"log_every": 1, "image_every": 2, "checkpoint_every": 2, "keep_checkpoints": 2, "progress_bar": False},
    "seed": 0,
}


def write_config(folder, output_dir, **sections):
    config = {key: dict(value) if isinstance(value, dict) else value for key, value in TINY.items()}
    for section, values in sections.items():
        if isinstance(values, dict):
            config[section].update(values)
        else:
            config[section] = values
    config["output_dir"] = str(output_dir)
    path = os.path.join(folder, "tiny.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path
