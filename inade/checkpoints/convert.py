"""Turn the authors' released PyTorch checkpoints into a run folder every tool
here loads (sample, evaluate, export, fine-tune with train.py)."""
from __future__ import annotations

import glob
import os
import re

from ..config import Config, save_config, to_dict
from ..data.formats import FORMATS
from ..data.semantics import class_channels
from ..errors import CheckpointError
from ..networks.build import build_discriminator, build_encoder, build_generator
from ..norm_kinds import NORM_KINDS
from ..training.run_dir import CHECKPOINTS, CONFIG_NAME
from .native import SUFFIX, save_checkpoint
from .reference import convert_reference_state, read_reference_state

# The shipped procedural recipe's terms that the reference does not have and
# that need an image encoder: off for a release trained without one.
ENCODER_TERMS_OFF = {
    "loss": {"lambda_l1": 0.0, "l1_chromaticity_weight": 0.0, "l1_contrast_weight": 0.0, "prior_fraction": 0.0},
    "optim": {"encoder_fit_iterations": 0},
}


def encoder_terms_off_overrides() -> list[str]:
    """ENCODER_TERMS_OFF as command-line overrides (section.key=value), for a
    configuration that must pass its checks without an encoder."""
    return [f"{section}.{key}={value}" for section, values in ENCODER_TERMS_OFF.items() for key, value in values.items()]


# Which files hold which network; the INADE release calls its encoder IE.
_ROLE_OF_TAG = {"G": "generator", "E": "encoder", "IE": "encoder", "D": "discriminator"}
_FILE_NAME = re.compile(r"(?:^|_)net_(G|IE|E|D)[_.]")


def _preference(path: str) -> int:
    name = os.path.basename(path)
    return 0 if name.startswith("best_") else 1 if name.startswith("latest_") else 2


def find_reference_files(source) -> dict:
    """network -> .pth path, from a folder or a list of files, by the release's
    names (``[best_|latest_]net_G.pth``, ``net_E``/``net_IE``, ``net_D``; a
    suffix such as ``net_G_legacy.pth`` is allowed). In a folder ``best_``
    files win over ``latest_`` ones, which win over the rest."""
    if isinstance(source, str) and os.path.isdir(source):
        candidates = glob.glob(os.path.join(source, "*.pth"))
    else:
        candidates = [source] if isinstance(source, str) else list(source)
        for path in candidates:
            if not os.path.isfile(path):
                raise CheckpointError(f"checkpoint not found: {path}")
    found = {}
    for path in sorted(candidates, key=lambda p: (_preference(p), len(os.path.basename(p)), p)):
        match = _FILE_NAME.search(os.path.basename(path))
        if match:
            found.setdefault(_ROLE_OF_TAG[match.group(1)], path)
    if "generator" not in found:
        raise CheckpointError(f"no generator checkpoint (*net_G.pth) in {source}")
    return found


def detect_norm_mode(state: dict, path: str) -> str:
    """The name of the norm kind whose release layers the generator's state dict has."""
    for kind in NORM_KINDS.values():
        if any(kind.release_layer in key for key in state):
            return kind.name
    names = ", ".join(name.upper() for name in NORM_KINDS)
    layers = ", ".join(kind.release_layer.strip(".") for kind in NORM_KINDS.values())
    raise CheckpointError(f"{path} is not a generator of {names} (none of the layers {layers})")


def detect_generator_options(state: dict, mode: str, num_classes: int) -> dict:
    """What the release was trained with, read off its generator: an image
    encoder (the first layer is linear on z), the instance edge channel
    (absent with the reference's --no_instance) and CLADE's positional map.
    A layer the file lacks (or has in an odd shape) leaves its option at the
    default; building the network and converting then report it as missing
    (or mismatched) with all the others, in one line."""
    first = state.get("fc.weight")
    # every SPADE norm's first conv reads the semantic map
    shared = next((v for k, v in state.items() if k.endswith(".mlp_shared.0.weight") and v.ndim == 4), None)
    use_z = first is not None and first.ndim == 2
    if mode == "inade":
        edges = True
    elif mode == "spade":
        edges = shared is None or shared.shape[1] == num_classes + 1
    else:
        edges = any(".inst_conv." in k for k in state)
    if first is not None and first.ndim == 4:  # the first conv reads the whole semantic map
        edges = first.shape[1] == num_classes + 1
    positional = any(".dist_conv_w." in k for k in state)
    options = {"use_z": use_z, "instance_edges": edges, "clade_positional": positional}
    if mode == "spade" and shared is not None:
        options["spade_hidden"] = int(shared.shape[0])
    return options


def convert_release(source, config: Config, out_dir: str, key: str | None = None, key_option: str = "key=") -> dict:
    """Read the reference files, check them against ``config`` and write
    ``out_dir/config.yaml`` and ``out_dir/checkpoints/latest.safetensors``.
    ``key`` names the entry holding the state dict in files that nest it in a
    larger dict (needed only when they hold several); ``key_option`` is how
    the caller's user spells it, for the message that asks for it."""
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise CheckpointError(f"refusing to write into {out_dir}: the folder is not empty")
    files = find_reference_files(source)
    states = {role: read_reference_state(path, key, key_option) for role, path in files.items()}
    mode = detect_norm_mode(states["generator"], files["generator"])
    if mode != config.model.norm_mode:
        raise CheckpointError(
            f"{files['generator']} is a {mode.upper()} generator but the configuration says "
            f"model.norm_mode={config.model.norm_mode!r} (use --norm-mode {mode})"
        )
    data = config.data
    if data.type in FORMATS and data.label_nc is None:
        data.label_nc = FORMATS[data.type].label_nc
    if data.type in FORMATS and data.contain_dontcare is None:
        data.contain_dontcare = FORMATS[data.type].contain_dontcare
    if data.label_nc is None:
        raise CheckpointError("data.label_nc must be set to convert a checkpoint of a custom dataset")
    label_nc, contain_dontcare = data.label_nc, bool(data.contain_dontcare)
    num_classes = class_channels(label_nc, contain_dontcare)
    options = detect_generator_options(states["generator"], mode, num_classes)
    # SPADE/CLADE generators start from z (a linear layer) only when trained with their image encoder.
    config.model.use_encoder = "encoder" in states if NORM_KINDS[mode].always_image_noise else options["use_z"]
    config.model.instance_edges = options["instance_edges"]
    config.model.clade_positional = options["clade_positional"]
    config.model.spade_hidden = options.get("spade_hidden", config.model.spade_hidden)
    config.model.encoder_colour_statistics = False  # not in the reference: no release has the branch
    if not config.model.use_encoder:
        for section, values in ENCODER_TERMS_OFF.items():
            for key, value in values.items():
                setattr(getattr(config, section), key, value)
    networks = {"generator": build_generator(config.model, num_classes, data.crop_size, data.aspect_ratio)}
    if "encoder" in states:
        if not config.model.use_encoder:
            raise CheckpointError(f"{files['encoder']} is an image encoder, but the generator takes no z")
        networks["encoder"] = build_encoder(config.model, data.crop_size)
    if "discriminator" in states:
        networks["discriminator"] = build_discriminator(config.model, num_classes)
    converted = {role: convert_reference_state(states[role], net, source=files[role]) for role, net in networks.items()}
    os.makedirs(os.path.join(out_dir, CHECKPOINTS), exist_ok=True)
    save_config(config, os.path.join(out_dir, CONFIG_NAME))
    state = {
        "iteration": 0,
        "generator": converted["generator"],
        "encoder": converted.get("encoder"),
        "discriminator": converted.get("discriminator"),
        "config": to_dict(config),
        "classes": {"label_nc": label_nc, "contain_dontcare": contain_dontcare},
        "source": {role: os.path.abspath(path) for role, path in files.items()},
    }
    save_checkpoint(state, os.path.join(out_dir, CHECKPOINTS, "latest" + SUFFIX))
    return files
