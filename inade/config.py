"""Typed configuration loaded from YAML, with overrides and helpful errors.

Each section is a dataclass; ``load_config`` reads a YAML file, applies
``a.b=value`` overrides (values parsed as YAML, never evaluated), checks every
key and type, and returns the dataclass tree. Unknown keys are errors that
suggest the closest valid key.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from typing import Any, Literal, Optional

import yaml

from .atomic import atomic_write_text
from .data.config import DataConfig
from .errors import ConfigError
from .norm_kinds import NormMode, ParamFreeNorm, kinds_that, norm_kind


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp, where: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, where)
            except ConfigError as error:
                errors.append(error)
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is Literal:
        if value is False and "off" in typing.get_args(tp):
            return "off"  # YAML reads a bare off as false
        if value in typing.get_args(tp):
            return value
        suggestion = difflib.get_close_matches(str(value), [str(a) for a in typing.get_args(tp)], n=1)
        hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
        raise ConfigError(f"{where}: {value!r} is not one of {_type_name(tp)}{hint}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_type, *_) = typing.get_args(tp)
        items = [_convert(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            # YAML 1.1 reads "1e-4" (no dot) as a string; accept it as the number it means.
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None:
            # no setting means infinity or NaN; they would only surface later as a NaN loss
            if not math.isfinite(number):
                raise ConfigError(f"{where}: expected a finite number, got {value!r}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"unsupported config type {tp!r} at {where}")
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def from_dict(cls, data: Any, where: str = ""):
    """Build dataclass ``cls`` from a mapping, checking keys and types."""
    label = where or "configuration"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in fields:
            suggestion = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{where + '.' if where else ''}{suggestion[0]}'?" if suggestion else ""
            raise ConfigError(f"unknown configuration key '{dotted}'{hint} (valid here: {', '.join(fields)})")
        values[key] = _convert(value, hints[key], dotted)
    for name, field in fields.items():
        if name not in values and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required configuration key '{where + '.' if where else ''}{name}'")
    try:
        return cls(**values)
    except (ValueError, ConfigError) as error:
        raise ConfigError(f"{label}: {error}") from None


def apply_override(data: dict, override: str) -> None:
    """Apply ``a.b.c=value`` to nested dict ``data``; the value is parsed as YAML."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.subkey=value")
    key, raw = override.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {override!r} names no key")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"override {override!r}: value is not valid YAML ({error})") from None
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {override!r}: '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def read_yaml(path: str) -> dict:
    if not os.path.isfile(path):
        raise ConfigError(f"configuration file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def save_config(config, path: str) -> None:
    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


# --- The sections of a training configuration -------------------------------


@dataclasses.dataclass
class ModelConfig:
    norm_mode: NormMode = "inade"  # a row of inade.norm_kinds.NORM_KINDS
    ngf: int = 64
    ndf: int = 64
    noise_nc: int = 64
    z_dim: int = 256
    num_upsampling_layers: Literal["normal", "more", "most"] = "normal"
    param_free_norm: ParamFreeNorm = "batch"
    use_encoder: bool = True
    num_d: int = 2
    n_layers_d: int = 4
    clade_positional: bool = False  # CLADE's intra-class positional map (norm_mode clade only)
    # The instance edge channel of the semantic input; false = the reference's --no_instance
    # (its ADE20K models). INADE needs instances, the edges are optional for every mode.
    instance_edges: bool = True
    # Attentive Normalization (Wang et al. 2020) as a baseline component: in the
    # generator after the last block whose output is this many pixels wide (None:
    # off), and/or in each discriminator's first layer; with n learned entities.
    attentive_norm_width: Optional[int] = None
    attentive_norm_discriminator: bool = False
    attentive_norm_entities: int = 16
    spade_hidden: int = 128  # hidden channels of SPADE norms (fixed at 128 in the reference)
    # INADE's encoder also reads each instance's RGB mean and spread (not in the
    # reference; see InstanceAdaptiveEncoder). Per-instance styles (INADE) with use_encoder only.
    encoder_colour_statistics: bool = False
    # INADE norms over batch norm keep only their input for the backward pass
    # and recompute the rest (backends/fused_norm.py, with the onednn backend):
    # less memory, faster on large activations and slower on small ones
    # (docs/performance.md). Training only; results match to float rounding.
    # None: the norms whose input has at least 1M values per image (inade.layers.
    # norms.RECOMPUTE_MIN_VALUES); true: every norm, an error where it cannot apply; false: none.
    recompute_norms: Optional[bool] = None

    def __post_init__(self):
        kind = norm_kind(self.norm_mode)
        if self.recompute_norms is True and (not kind.recomputable or self.param_free_norm != "batch"):
            # syncbatch too: data-parallel GPU training swaps in SyncBatchNorm, which the node does not cover
            raise ValueError(f"model.recompute_norms needs norm_mode {kinds_that('recomputable')} with param_free_norm batch")
        if self.encoder_colour_statistics and (not kind.per_instance_styles or not self.use_encoder):
            # the colour branch is part of the instance-adaptive encoder
            raise ValueError(f"model.encoder_colour_statistics needs norm_mode {kinds_that('per_instance_styles')} "
                             "with use_encoder: true")
        if self.clade_positional and not kind.takes_positional_map:
            raise ValueError(f"model.clade_positional needs norm_mode {kinds_that('takes_positional_map')}, "
                             f"not {self.norm_mode!r}")
        for name in ("ngf", "ndf", "noise_nc", "z_dim", "num_d", "n_layers_d", "attentive_norm_entities", "spade_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be positive, got {getattr(self, name)}")


@dataclasses.dataclass
class LossConfig:
    gan_mode: Literal["hinge", "ls", "original", "w"] = "hinge"
    lambda_feat: float = 10.0
    feature_matching: Literal["last", "all"] = "last"
    lambda_vgg: float = 10.0
    vgg_weights: Optional[str] = None
    lambda_kld: float = 0.05
    # Weight-free stand-in for the VGG loss: L1 between the encoder-driven fake and
    # its photo after average pooling by l1_pool. Needs model.use_encoder.
    lambda_l1: float = 0.0
    l1_pool: int = 4
    # Weight, inside the L1 term, of an L1 between chromaticities (colour over
    # brightness), where hue is not dwarfed by brightness (inade.losses.reconstruction).
    l1_chromaticity_weight: float = 0.0
    # Weight, inside the L1 term, of an L1 between local contrasts (standard
    # deviation within each l1_pool window), which pooling alone averages away:
    # texture strength without its phase. Needs l1_pool > 1.
    l1_contrast_weight: float = 0.0
    # Share of each batch whose instance noise (or z) is drawn from the N(0, I)
    # prior instead of the encoder, as BicycleGAN's cLR path does: those fakes
    # get the adversarial term only, the rest the reconstruction terms too
    # (feature matching, VGG, L1, KLD). Sampling draws from the prior, so this
    # trains it directly. Needs model.use_encoder.
    prior_fraction: float = 0.0
    # weight of the Attentive Normalization layers' entity orthogonality regulariser
    lambda_an: float = 0.01

    def __post_init__(self):
        for name in ("lambda_feat", "lambda_vgg", "lambda_kld", "lambda_l1", "l1_chromaticity_weight", "l1_contrast_weight", "lambda_an"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("l1_chromaticity_weight", "l1_contrast_weight"):
            if getattr(self, name) and not self.lambda_l1:
                raise ValueError(f"loss.{name} weighs a part of the L1 term and needs loss.lambda_l1 > 0")
        if self.l1_pool < 1:
            raise ValueError(f"loss.l1_pool must be >= 1, got {self.l1_pool}")
        if self.l1_contrast_weight and self.l1_pool < 2:
            raise ValueError(f"loss.l1_contrast_weight measures contrast within each l1_pool window and needs "
                             f"loss.l1_pool >= 2, got {self.l1_pool}")
        if not 0 <= self.prior_fraction < 1:
            raise ValueError(f"loss.prior_fraction must be in [0, 1), got {self.prior_fraction}")


@dataclasses.dataclass
class OptimConfig:
    """Adam with TTUR by default; the length is given in iterations or in epochs
    (one of the two), the linear decay to 0 likewise."""

    lr: float = 2e-4
    ttur: bool = True
    beta1: Optional[float] = None
    beta2: Optional[float] = None
    iterations: Optional[int] = None
    decay_iterations: Optional[int] = None
    epochs: Optional[int] = None
    decay_epochs: Optional[int] = None
    # After the adversarial iterations: this many more in which the encoder alone
    # learns to reconstruct photos through the fixed generator, with plain Adam
    # at encoder_fit_lr (inade.training.encoder_fit). Needs a reconstruction term.
    encoder_fit_iterations: int = 0
    encoder_fit_lr: float = 5e-4
    # Mixed precision of the training forwards, for GPUs (inade.training.precision):
    # off (fp32), fp16 (with loss scaling) or bf16.
    amp: Literal["off", "fp16", "bf16"] = "off"

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"optim.lr must be positive, got {self.lr}")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValueError(f"optim.{name} must be in [0, 1) (Adam's moment decay), got {value}")
        if self.encoder_fit_iterations < 0:
            raise ValueError(f"optim.encoder_fit_iterations must be >= 0, got {self.encoder_fit_iterations}")
        if self.encoder_fit_lr <= 0:
            raise ValueError(f"optim.encoder_fit_lr must be positive, got {self.encoder_fit_lr}")
        if (self.iterations is None) == (self.epochs is None):
            raise ValueError("set exactly one of optim.iterations and optim.epochs")
        if self.iterations is not None and self.decay_epochs is not None:
            raise ValueError("optim.decay_epochs goes with optim.epochs; use optim.decay_iterations")
        if self.epochs is not None and self.decay_iterations is not None:
            raise ValueError("optim.decay_iterations goes with optim.iterations; use optim.decay_epochs")
        for name in ("iterations", "epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"optim.{name} must be positive, got {value}")
        length, decay = (self.iterations, self.decay_iterations) if self.iterations else (self.epochs, self.decay_epochs)
        unit = "iterations" if self.iterations else "epochs"
        if decay is not None and not 0 <= decay <= length:
            raise ValueError(f"optim.decay_{unit} must be between 0 and optim.{unit} ({length}), got {decay}")

    def schedule(self, iterations_per_epoch: int) -> tuple[int, int]:
        """(total iterations, iterations of linear decay at the end)."""
        if self.iterations is not None:
            return self.iterations, self.decay_iterations or 0
        return self.epochs * iterations_per_epoch, (self.decay_epochs or 0) * iterations_per_epoch

    def learning_rates(self) -> tuple[float, float]:
        """(generator+encoder, discriminator): TTUR halves G's and doubles D's."""
        return (self.lr / 2, self.lr * 2) if self.ttur else (self.lr, self.lr)

    def betas(self) -> tuple[float, float]:
        default = (0.0, 0.9) if self.ttur else (0.5, 0.999)
        return (
            default[0] if self.beta1 is None else self.beta1,
            default[1] if self.beta2 is None else self.beta2,
        )


def lr_factor(iteration: int, total: int, decay: int) -> float:
    """Constant, then linear decay to 0 over the last ``decay`` iterations."""
    if decay == 0:
        return 1.0
    return max(0.0, min(1.0, (total - iteration) / decay))


@dataclasses.dataclass
class LoggingConfig:
    log_every: int = 10
    image_every: int = 200
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    visualdl: bool = True
    progress_bar: bool = True

    def __post_init__(self):
        for name in ("log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"logging.{name} must be 1 or more (iterations), got {getattr(self, name)}")
        for name in ("image_every", "keep_checkpoints"):
            if getattr(self, name) < 0:
                raise ValueError(f"logging.{name} must be 0 (off) or more, got {getattr(self, name)}")


@dataclasses.dataclass
class Config:
    """A whole training configuration."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=lambda: OptimConfig(iterations=1000))
    logging: LoggingConfig = dataclasses.field(default_factory=LoggingConfig)
    seed: int = 0
    output_dir: str = "runs/default"

    def __post_init__(self):
        if not 0 <= self.seed < 2**32:
            # numpy's and paddle's generators take unsigned 32-bit seeds
            raise ValueError(f"seed must be between 0 and 2**32 - 1, got {self.seed}")
        if self.loss.lambda_l1 and not self.model.use_encoder:
            # without an encoder the fake is a fresh sample, not a reconstruction
            raise ValueError("loss.lambda_l1 needs model.use_encoder: true (set loss.lambda_l1: 0 otherwise)")
        if self.loss.prior_fraction and not self.model.use_encoder:
            raise ValueError("loss.prior_fraction needs model.use_encoder: true (without an encoder every fake is a prior sample)")
        if self.optim.encoder_fit_iterations:
            if not self.model.use_encoder:
                raise ValueError("optim.encoder_fit_iterations needs model.use_encoder: true (there is no encoder to fit)")
            if not (self.loss.lambda_l1 or (self.loss.lambda_vgg and self.loss.vgg_weights)):
                raise ValueError("optim.encoder_fit_iterations needs a reconstruction term to fit the encoder with: "
                                 "loss.lambda_l1 > 0, or loss.lambda_vgg > 0 with loss.vgg_weights")


def load_config(path: str, overrides=()) -> Config:
    """Read a YAML configuration, apply ``key.sub=value`` overrides, check it."""
    data = read_yaml(path)
    for override in overrides:
        apply_override(data, override)
    return from_dict(Config, data)
