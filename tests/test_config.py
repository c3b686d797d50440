import dataclasses
from typing import Literal, Optional

import pytest

from inade.config import (
    Config,
    LoggingConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    apply_override,
    from_dict,
    lr_factor,
    read_yaml,
)
from inade.data.config import DataConfig
from inade.errors import ConfigError


@dataclasses.dataclass
class Inner:
    size: int = 4
    mode: Literal["a", "b"] = "a"
    path: Optional[str] = None


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner = dataclasses.field(default_factory=Inner)
    rate: float = 0.5
    flags: list[int] = dataclasses.field(default_factory=list)


def test_builds_nested_sections_and_converts_ints_to_floats():
    cfg = from_dict(Outer, {"name": "x", "inner": {"size": 8, "mode": "b"}, "rate": 1, "flags": [1, 2]})
    assert cfg == Outer("x", Inner(8, "b"), 1.0, [1, 2])
    # YAML 1.1 reads 1e-4 as a string
    assert from_dict(Outer, {"name": "x", "rate": "1e-4"}).rate == 1e-4


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown configuration key 'inner.sise'; did you mean 'inner.size'\?"):
        from_dict(Outer, {"name": "x", "inner": {"sise": 3}})


def test_wrong_types_and_choices_name_the_key():
    with pytest.raises(ConfigError, match=r"inner.size: expected int, got 'big'"):
        from_dict(Outer, {"name": "x", "inner": {"size": "big"}})
    with pytest.raises(ConfigError, match=r"inner.mode: 'c' is not one of 'a' \| 'b'"):
        from_dict(Outer, {"name": "x", "inner": {"mode": "c"}})
    with pytest.raises(ConfigError, match="inner.size: expected int, got True"):
        from_dict(Outer, {"name": "x", "inner": {"size": True}})
    with pytest.raises(ConfigError, match="missing required configuration key 'name'"):
        from_dict(Outer, {})


def test_validation_in_sections_is_reported_with_the_section():
    with pytest.raises(ConfigError, match="model: model.ngf must be positive"):
        from_dict(ModelConfig, {"ngf": 0}, "model")
    with pytest.raises(ConfigError, match="decay_iterations must be between 0 and optim.iterations"):
        from_dict(OptimConfig, {"iterations": 10, "decay_iterations": 20}, "optim")
    with pytest.raises(ConfigError, match="set exactly one of optim.iterations and optim.epochs"):
        from_dict(OptimConfig, {"iterations": 10, "epochs": 2}, "optim")
    with pytest.raises(ConfigError, match="decay_epochs goes with optim.epochs"):
        from_dict(OptimConfig, {"iterations": 10, "decay_epochs": 2}, "optim")
    with pytest.raises(ConfigError, match="loss.lambda_kld must be >= 0"):
        from_dict(LossConfig, {"lambda_kld": -1}, "loss")
    with pytest.raises(ConfigError, match="model.encoder_colour_statistics needs norm_mode inade"):
        from_dict(ModelConfig, {"norm_mode": "spade", "encoder_colour_statistics": True}, "model")
    for norm in ("instance", "syncbatch"):
        with pytest.raises(ConfigError, match="model.recompute_norms needs norm_mode inade with param_free_norm batch"):
            from_dict(ModelConfig, {"param_free_norm": norm, "recompute_norms": True}, "model")
    assert from_dict(ModelConfig, {"recompute_norms": True}, "model").recompute_norms
    # by default wherever it applies, without an error where it does not
    for norm in ("batch", "instance", "syncbatch"):
        assert from_dict(ModelConfig, {"param_free_norm": norm}, "model").recompute_norms is None
    assert from_dict(ModelConfig, {"norm_mode": "spade"}, "model").recompute_norms is None


def test_overrides_parse_yaml_values_and_never_evaluate():
    data = {"inner": {"size": 4}}
    apply_override(data, "inner.size=16")
    apply_override(data, "inner.path=null")
    apply_override(data, "rate=1e-3")
    apply_override(data, "name=__import__('os').system('echo hi')")
    assert data == {"inner": {"size": 16, "path": None}, "rate": "1e-3", "name": "__import__('os').system('echo hi')"}
    with pytest.raises(ConfigError, match="must look like key.subkey=value"):
        apply_override(data, "inner.size")
    with pytest.raises(ConfigError, match="'size' is a value, not a section"):
        apply_override(data, "inner.size.deep=1")


def test_read_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        read_yaml(str(tmp_path / "none.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        read_yaml(str(bad))


def test_optim_schedule():
    optim = OptimConfig(lr=2e-4, iterations=100, decay_iterations=50)
    assert optim.learning_rates() == (1e-4, 4e-4)
    assert optim.betas() == (0.0, 0.9)
    assert OptimConfig(ttur=False, iterations=1).betas() == (0.5, 0.999)
    assert optim.schedule(iterations_per_epoch=7) == (100, 50)
    assert OptimConfig(epochs=4, decay_epochs=2).schedule(iterations_per_epoch=7) == (28, 14)
    assert [lr_factor(i, 100, 50) for i in (0, 50, 75, 100)] == [1.0, 1.0, 0.5, 0.0]


@pytest.mark.parametrize("section, cls, values, message", [
    ("optim", OptimConfig, {"lr": -1}, "optim.lr must be positive, got -1.0"),
    ("optim", OptimConfig, {"lr": 0}, "optim.lr must be positive"),
    ("optim", OptimConfig, {"lr": "nan"}, "optim.lr: expected a finite number, got 'nan'"),
    ("optim", OptimConfig, {"lr": float("inf")}, "optim.lr: expected a finite number, got inf"),
    ("optim", OptimConfig, {"lr": "1e400"}, "optim.lr: expected a finite number, got '1e400'"),
    ("optim", OptimConfig, {"beta1": 1.0}, r"optim.beta1 must be in \[0, 1\)"),
    ("optim", OptimConfig, {"beta2": -0.1}, r"optim.beta2 must be in \[0, 1\)"),
    ("loss", LossConfig, {"lambda_kld": float("nan")}, "loss.lambda_kld: expected a finite number"),
    ("logging", LoggingConfig, {"checkpoint_every": 0}, "logging.checkpoint_every must be 1 or more"),
    ("logging", LoggingConfig, {"log_every": -3}, "logging.log_every must be 1 or more"),
    ("logging", LoggingConfig, {"image_every": -1}, r"logging.image_every must be 0 \(off\) or more"),
    ("logging", LoggingConfig, {"keep_checkpoints": -1}, r"logging.keep_checkpoints must be 0 \(off\) or more"),
    ("data", DataConfig, {"seed": -5}, r"data.seed must be between 0 and 2\*\*32 - 1, got -5"),
    ("data", DataConfig, {"procedural_samples": 0}, "data.procedural_samples must be positive"),
])
def test_values_that_would_fail_later_are_refused_with_the_key(section, cls, values, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(cls, values, section)


def test_seed_must_fit_the_generators():
    with pytest.raises(ConfigError, match=r"seed must be between 0 and 2\*\*32 - 1, got 4294967296"):
        from_dict(Config, {"seed": 2**32})
    assert from_dict(Config, {"seed": 2**32 - 1}).seed == 2**32 - 1
    assert from_dict(LoggingConfig, {"image_every": 0, "keep_checkpoints": 0}, "logging").image_every == 0
