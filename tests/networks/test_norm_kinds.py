"""Every norm kind's capabilities in inade.norm_kinds match what the networks
built with it do: the table is what the trainer, export and sampling ask."""
import numpy as np
import paddle
import pytest

from inade.config import Config, ModelConfig, from_dict
from inade.losses.vgg import VGG_LAYER_WEIGHTS
from inade.networks import Generator
from inade.networks.build import build_encoder
from inade.norm_kinds import NORM_KINDS, NormSettings, norm_kind
from inade.synthesis.export import generator_inputs
from inade.synthesis.synthesizer import Synthesizer

KINDS = tuple(NORM_KINDS.values())
NUM_CLASSES = 3


def layout():
    """Semantic map [1, 4, 32, 32] (3 classes + edges) and 3 instances [1, 3, 32, 32]:
    instance 0 (class 1) on the left half, instance 1 (class 2) on the right,
    instance 2 on no pixel."""
    semantics = np.zeros((1, NUM_CLASSES + 1, 32, 32), "float32")
    semantics[0, 1, :, :16] = 1
    semantics[0, 2, :, 16:] = 1
    semantics[0, 3, :, 15:17] = 1  # the edge between the instances
    instances = np.zeros((1, 3, 32, 32), "float32")
    instances[0, 0, :, :16] = 1
    instances[0, 1, :, 16:] = 1
    return paddle.to_tensor(semantics), paddle.to_tensor(instances)


def tiny_generator(kind, **options):
    paddle.seed(3)
    options = {"use_z": False, **options}  # use_z: trained with an image encoder
    return Generator(NUM_CLASSES, norm_mode=kind.name, ngf=4, noise_nc=5, z_dim=8, crop_size=32, **options).eval()


def with_row_changed(noise, row):
    edited = noise.clone()
    edited[:, row] = noise[:, row] * -2 + 1
    return edited


def settings(positional=False):
    return NormSettings(NUM_CLASSES, NUM_CLASSES + 1, noise_nc=5, param_free_norm="batch", positional=positional,
                        instance_edges=True, spade_hidden=8)


def test_the_table_names_each_kind_once_and_refuses_unknown_names():
    assert [kind.name for kind in KINDS] == list(NORM_KINDS)
    with pytest.raises(ValueError, match="norm_mode must be one of"):
        norm_kind("batch")


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_per_instance_styles_is_what_the_generator_does_with_instance_noise(kind):
    generator = tiny_generator(kind)
    assert generator.per_instance_styles == kind.per_instance_styles
    semantics, instances = layout()
    paddle.seed(5)
    noise, z = paddle.randn([1, 3, 2, 5]), paddle.randn([1, 8])
    first = generator(semantics, instances, noise, z).numpy()
    one_instance = generator(semantics, instances, with_row_changed(noise, 0), z).numpy()
    absent_instance = generator(semantics, instances, with_row_changed(noise, 2), z).numpy()
    assert (np.abs(one_instance - first).max() > 1e-3) == kind.per_instance_styles
    np.testing.assert_array_equal(absent_instance, first)  # a code acts only where its instance is


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_per_instance_norm_modulates_each_instance_with_its_own_code_only(kind):
    paddle.seed(4)
    norm = kind.make_norm(6, settings()).eval()
    semantics, instances = layout()
    x = paddle.randn([1, 6, 32, 32])
    noise = paddle.randn([1, 3, 2, 5])
    first = norm(x, semantics, instances, noise).numpy()
    edited = norm(x, semantics, instances, with_row_changed(noise, 0)).numpy()
    np.testing.assert_array_equal(edited[..., 16:], first[..., 16:])  # the other instance
    assert (np.abs(edited[..., :16] - first[..., :16]).max() > 1e-3) == kind.per_instance_styles


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_image_noise_without_an_encoder_is_the_kinds(kind):
    generator = tiny_generator(kind)
    assert generator.use_z == kind.always_image_noise
    semantics, instances = layout()
    noise = paddle.randn([1, 3, 2, 5])
    outputs = [generator(semantics, instances, noise, paddle.randn([1, 8])).numpy() for _ in range(2)]
    if kind.always_image_noise:
        # a fresh generator's small first layer makes z's effect small, but not nil
        assert not np.array_equal(outputs[1], outputs[0])
    else:
        np.testing.assert_array_equal(outputs[1], outputs[0])
    assert tiny_generator(kind, use_z=True).use_z  # with an image encoder every kind starts from z


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_positional_map_edge_channel_and_recomputation_are_the_kinds(kind):
    if kind.takes_positional_map:
        assert tiny_generator(kind, positional=True).positional
    else:
        with pytest.raises(ValueError, match="positional map belongs to"):
            tiny_generator(kind, positional=True)
    semantics, instances = layout()
    out = kind.make_norm(6, settings()).eval()(paddle.randn([1, 6, 32, 32]), semantics, instances,
                                               paddle.randn([1, 3, 2, 5]), paddle.zeros([1, 2, 32, 32]))
    assert out.shape[1] == 6 + (1 if kind.appends_edge_channel else 0)
    recomputing = [layer for layer in tiny_generator(kind, recompute_norms=True).train().sublayers()
                   if getattr(layer, "recomputes", lambda shape: False)([1, 4, 8, 8])]
    assert bool(recomputing) == kind.recomputable
    assert kind.vgg_recipe in VGG_LAYER_WEIGHTS


@pytest.mark.parametrize("use_encoder", [True, False])
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_encoder_and_what_sampling_and_export_ask_follow_the_kind(kind, use_encoder):
    model = from_dict(ModelConfig, {"norm_mode": kind.name, "use_encoder": use_encoder, "ngf": 4, "noise_nc": 5,
                                    "z_dim": 8}, "model")
    encoder = build_encoder(model, 32)
    assert (encoder is not None) == use_encoder
    if encoder is not None:
        assert encoder.reads_instances == kind.per_instance_styles
    generator = tiny_generator(kind, use_z=use_encoder)
    synth = Synthesizer(generator, encoder, Config(model=model), NUM_CLASSES, False)
    assert synth.per_instance_styles == kind.per_instance_styles
    assert synth.has_image_encoder == (use_encoder and not kind.per_instance_styles)
    names = [spec.name for spec in generator_inputs(generator, 32, 32)]
    assert ("instances" in names and "instance_noise" in names) == kind.per_instance_styles
    assert ("z" in names) == (use_encoder or kind.always_image_noise)


def test_configuration_checks_name_the_kinds_with_the_capability():
    from inade.errors import ConfigError

    for kind in KINDS:
        options = {"norm_mode": kind.name, "clade_positional": True}
        if kind.takes_positional_map:
            assert from_dict(ModelConfig, options, "model").clade_positional
        else:
            with pytest.raises(ConfigError, match="clade_positional needs norm_mode clade"):
                from_dict(ModelConfig, options, "model")
