import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.config import Config, from_dict
from inade.networks.build import build_discriminator, build_encoder, build_generator
from inade.networks.noise import remap_noise
from inade.checkpoints.native import load_checkpoint
from inade.resources import config_path

CONVERT = [sys.executable, "-m", "inade", "convert"]
INADE_TINY = ["-o", "data.label_nc=6", "-o", "model.ngf=8", "-o", "model.ndf=16", "-o", "model.noise_nc=16",
              "-o", "data.crop_size=64"]
SPADE_TINY = ["--norm-mode", "spade", "-o", "data.label_nc=6", "-o", "model.ngf=4", "-o", "model.ndf=8",
              "-o", "data.crop_size=256"]


def convert(source, out, *extra):
    return subprocess.run([*CONVERT, "--from", source, "--dataset", "custom", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=300)


def load_converted(out):
    state = load_checkpoint(os.path.join(out, "checkpoints", "latest.safetensors"))
    config = from_dict(Config, state["config"])
    num_classes = state["classes"]["label_nc"] + int(state["classes"]["contain_dontcare"])
    nets = {
        "generator": build_generator(config.model, num_classes, config.data.crop_size, config.data.aspect_ratio),
        "encoder": build_encoder(config.model, config.data.crop_size),
        "discriminator": build_discriminator(config.model, num_classes),
    }
    for name, net in nets.items():
        net.set_state_dict(state[name])
        net.eval()
    return nets


def convert_fixture(fixtures_dir, name, out, *extra):
    """Convert a reference fixture through the CLI: (networks, recorded inputs and outputs)."""
    root = os.path.join(fixtures_dir, name)
    done = convert(root, out, *extra)
    assert done.returncode == 0, done.stderr
    io = {k: paddle.to_tensor(v) for k, v in np.load(os.path.join(root, "io.npz")).items()}
    return load_converted(out), io


def close(ours, reference):
    assert np.abs(ours - reference).max() <= 1e-4 * max(1.0, np.abs(reference).max())


def test_inade_fixture_converted_through_the_cli_reproduces_its_outputs(fixtures_dir, tmp_path):
    nets, io = convert_fixture(fixtures_dir, "official_inade_tiny", tmp_path / "inade", *INADE_TINY)
    with paddle.no_grad():
        stats = nets["encoder"](io["image"], io["instances"])
        fake = nets["generator"](io["semantics"], io["instances"], remap_noise(io["eps"], *stats), io["z_img"])
        features = nets["discriminator"](paddle.concat([io["semantics"], io["fake"]], 1))
    close(fake.numpy(), io["fake"].numpy())
    close(features[1][3].numpy(), io["d1_feat3"].numpy())
    # and the tools take it from there
    sample = subprocess.run([sys.executable, "-m", "inade", "sample", "--checkpoint", str(tmp_path / "inade"),
                             "--label", _label_png(tmp_path, io["label"].numpy()[0, 0]), "--num", "1", "--out", str(tmp_path / "s")],
                            capture_output=True, text=True, timeout=300)
    assert sample.returncode == 0, sample.stderr


def test_a_configuration_with_the_colour_branch_converts_a_release_without_it(fixtures_dir, tmp_path):
    # configs/procedural.yaml (the shipped recipe) turns the encoder's colour branch on; no release has it
    procedural = config_path("procedural")
    nets, io = convert_fixture(fixtures_dir, "official_inade_tiny", tmp_path / "inade", "--config", procedural,
                               "-o", "data.type=folder", *INADE_TINY)
    with paddle.no_grad():
        stats = nets["encoder"](io["image"], io["instances"])
        fake = nets["generator"](io["semantics"], io["instances"], remap_noise(io["eps"], *stats), io["z_img"])
    close(fake.numpy(), io["fake"].numpy())


def _label_png(tmp_path, label):
    from PIL import Image

    path = str(tmp_path / "label.png")
    Image.fromarray(label.astype(np.uint8)).save(path)
    return path


def test_spade_vae_fixture_converted_through_the_cli_reproduces_its_outputs(fixtures_dir, tmp_path):
    nets, io = convert_fixture(fixtures_dir, "official_spade_vae_tiny", tmp_path / "spade", *SPADE_TINY)
    with paddle.no_grad():
        mu, _ = nets["encoder"](io["image"])
        fake = nets["generator"](io["semantics"], z=io["z_img"])
    close(mu.numpy(), io["enc_mu"].numpy())
    close(fake.numpy(), io["fake"].numpy())


def test_legacy_format_and_refusals(fixtures_dir, tmp_path):
    root = os.path.join(fixtures_dir, "official_inade_tiny")
    done = convert(os.path.join(root, "net_G_legacy.pth"), tmp_path / "legacy", *INADE_TINY)
    assert done.returncode == 0, done.stderr
    wrong_mode = convert(root, tmp_path / "wrong", *INADE_TINY, "--norm-mode", "spade")
    assert wrong_mode.returncode == 2 and "is a INADE generator but the configuration says model.norm_mode='spade'" in wrong_mode.stderr
    wrong_size = convert(root, tmp_path / "size", *INADE_TINY, "-o", "model.ngf=16")
    assert wrong_size.returncode == 2 and "does not fit the Generator" in wrong_size.stderr and "shape mismatch" in wrong_size.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    occupied = convert(root, tmp_path / "full", *INADE_TINY)
    assert occupied.returncode == 2 and "refusing to write into" in occupied.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    nothing = convert(str(tmp_path / "full"), tmp_path / "x", *INADE_TINY)
    assert nothing.returncode == 2 and "no generator checkpoint" in nothing.stderr
    for result in (wrong_mode, wrong_size, occupied, nothing):
        assert "Traceback" not in result.stderr


def test_file_names_of_the_releases(tmp_path):
    from inade.checkpoints.convert import find_reference_files

    for name in ("latest_net_G.pth", "best_net_G.pth", "best_net_IE.pth", "latest_net_D.pth", "notes_net.pth"):
        (tmp_path / name).write_bytes(b"")
    found = {role: os.path.basename(path) for role, path in find_reference_files(str(tmp_path)).items()}
    assert found == {"generator": "best_net_G.pth", "encoder": "best_net_IE.pth", "discriminator": "latest_net_D.pth"}


def test_fine_tune_a_converted_release_with_train(fixtures_dir, tmp_path):
    import yaml

    from inade.config import load_config
    from inade.training import train

    out = tmp_path / "inade"
    assert convert(os.path.join(fixtures_dir, "official_inade_tiny"), out, *INADE_TINY).returncode == 0
    with open(out / "config.yaml") as f:
        config = yaml.safe_load(f)
    config["data"].update({"type": "procedural", "procedural_samples": 8, "batch_size": 2})
    config["optim"] = {"iterations": 2}
    config["logging"].update({"progress_bar": False, "image_every": 0})
    with open(tmp_path / "finetune.yaml", "w") as f:
        yaml.safe_dump(config, f)
    before = load_checkpoint(str(out / "checkpoints" / "latest.safetensors"))["generator"]["conv_img.weight"]
    result = train(load_config(str(tmp_path / "finetune.yaml")))
    assert result.iteration == 2 and result.status == "finished"
    after = load_checkpoint(str(out / "checkpoints" / "latest.safetensors"))
    assert after["iteration"] == 2 and not np.array_equal(np.asarray(after["generator"]["conv_img.weight"]), np.asarray(before))


# Our parameter names -> the CLADE/SPADE releases' (the inverse of inade.checkpoints.reference),
# to write a release-style checkpoint from a network built here.
_RELEASE_NAMES = (
    (".class_weight", ".class_specified_affine.weight"),
    (".class_bias", ".class_specified_affine.bias"),
    (".position_scale.", ".class_specified_affine.dist_conv_w."),
    (".position_shift.", ".class_specified_affine.dist_conv_b."),
    (".edge_conv.", ".inst_conv."),
    ("._mean", ".running_mean"),
    ("._variance", ".running_var"),
)


def _write_release(generator, path):
    from tests.checkpoints.torch_writer import tensors_of, write_zip

    linear = {f"{name}.weight" for name, layer in generator.named_sublayers() if isinstance(layer, paddle.nn.Linear)}
    state = {}
    for name, value in generator.state_dict().items():
        value = value.numpy()
        if name in linear:
            value = np.ascontiguousarray(value.T)
        for ours, theirs in _RELEASE_NAMES:
            name = name.replace(ours, theirs)
        state[name] = value
    write_zip(path, tensors_of(state)[0])


@pytest.mark.parametrize("mode,edges,positional,use_z", [
    ("clade", True, True, False),   # CLADE with instances and its positional map (Cityscapes-like)
    ("clade", False, False, True),  # --no_instance (ADE20K-like), trained with the image encoder
    ("spade", False, False, False),  # SPADE's ADE20K release has no edge channel either
])
def test_clade_and_no_instance_releases_convert_with_their_options_detected(tmp_path, mode, edges, positional, use_z):
    from inade.data.positional import positional_maps
    from inade.data.semantics import semantic_input
    from inade.networks.generator import Generator

    paddle.seed(3)
    generator = Generator(6, norm_mode=mode, ngf=4, z_dim=16, crop_size=64, use_z=use_z, positional=positional,
                          instance_edges=edges)
    for name, value in generator.state_dict().items():  # no parameter left at an initial zero or one
        if "position_" in name or "class_bias" in name or "_mean" in name:
            value.set_value(paddle.uniform(value.shape, min=-0.5, max=0.5))
    generator.eval()
    (tmp_path / "release").mkdir()
    _write_release(generator, str(tmp_path / "release" / "latest_net_G.pth"))
    done = convert(str(tmp_path / "release"), tmp_path / "out", "--norm-mode", mode, "-o", "data.label_nc=6",
                   "-o", "model.ngf=4", "-o", "model.z_dim=16", "-o", "data.crop_size=64")
    assert done.returncode == 0, done.stderr
    state = load_checkpoint(os.path.join(tmp_path, "out", "checkpoints", "latest.safetensors"))
    model = state["config"]["model"]
    assert (model["instance_edges"], model["clade_positional"], model["use_encoder"]) == (edges, positional, use_z)
    converted = build_generator(from_dict(Config, state["config"]).model, 6, 64, 1.0)
    converted.set_state_dict(state["generator"])
    converted.eval()
    rng = np.random.default_rng(0)
    label = paddle.to_tensor(rng.integers(0, 6, (1, 1, 64, 64)))
    semantics = semantic_input(label, label, 6, False, edges)
    maps = paddle.to_tensor(positional_maps(label.numpy())) if positional else None
    z = paddle.to_tensor(rng.standard_normal((1, 16)).astype("float32")) if use_z else None
    with paddle.no_grad():
        np.testing.assert_array_equal(converted(semantics, z=z, positional=maps).numpy(),
                                      generator(semantics, z=z, positional=maps).numpy())
    wrong = convert(str(tmp_path / "release"), tmp_path / "wrong", "-o", "data.label_nc=6")
    assert wrong.returncode == 2 and f"is a {mode.upper()} generator" in wrong.stderr


def _fixture_state(fixtures_dir, release, name):
    from inade.checkpoints import read_torch_checkpoint

    return read_torch_checkpoint(os.path.join(fixtures_dir, release, f"{name}.pth"))


def _write_pth(path, top):
    """A .pth of ``top``: a state dict, or a dict whose state-dict entries are
    given as numpy dicts (each tensor in a storage of its own)."""
    from tests.checkpoints.torch_writer import tensors_of, write_zip

    def arrays(value):
        return isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values())

    if arrays(top):
        write_zip(str(path), tensors_of(top)[0])
        return
    first_key, written = 0, {}
    for name, value in top.items():
        if arrays(value):
            value, _ = tensors_of(value, first_key)
            first_key += len(value)
        written[name] = value
    write_zip(str(path), written)


def _generator_samples(out, io):
    nets = load_converted(str(out))
    with paddle.no_grad():
        stats = nets["encoder"](io["image"], io["instances"])
        return nets["generator"](io["semantics"], io["instances"], remap_noise(io["eps"], *stats), io["z_img"]).numpy()


def _assert_same_conversion(out, reference_out, roles=("generator", "encoder", "discriminator")):
    ours = load_checkpoint(os.path.join(out, "checkpoints", "latest.safetensors"))
    theirs = load_checkpoint(os.path.join(reference_out, "checkpoints", "latest.safetensors"))
    for role in roles:
        assert list(ours[role]) == list(theirs[role]), role
        for name in theirs[role]:
            np.testing.assert_array_equal(np.asarray(ours[role][name]), np.asarray(theirs[role][name]), err_msg=name)


def test_checkpoints_saved_from_a_wrapper_or_nested_in_a_larger_dict_convert_as_they_are(fixtures_dir, tmp_path):
    release = "official_inade_tiny"
    states = {name: _fixture_state(fixtures_dir, release, name) for name in ("net_G", "net_E", "net_D")}
    (tmp_path / "wrapped").mkdir()
    (tmp_path / "nested").mkdir()
    for name, state in states.items():
        # DataParallel: every name prefixed "module."
        _write_pth(tmp_path / "wrapped" / f"{name}.pth", {f"module.{k}": v for k, v in state.items()})
        # training scripts: the state dict beside the epoch, the optimizer's settings, ...
        entry = {"net_G": "state_dict", "net_E": "model", "net_D": "net_D"}[name]
        _write_pth(tmp_path / "nested" / f"{name}.pth", {entry: state, "epoch": 7, "optimizer": {"lr": 0.0002}})
    _, io = convert_fixture(fixtures_dir, release, tmp_path / "plain", *INADE_TINY)
    reference = _generator_samples(tmp_path / "plain", io)
    for variant in ("wrapped", "nested"):
        done = convert(str(tmp_path / variant), tmp_path / f"{variant}_out", *INADE_TINY)
        assert done.returncode == 0, done.stderr
        _assert_same_conversion(tmp_path / f"{variant}_out", tmp_path / "plain")
        np.testing.assert_array_equal(_generator_samples(tmp_path / f"{variant}_out", io), reference)


def test_a_file_holding_several_state_dicts_is_refused_naming_key_and_key_picks_one(fixtures_dir, tmp_path):
    generator = _fixture_state(fixtures_dir, "official_inade_tiny", "net_G")
    changed = {k: (v + 1 if k == "conv_img.bias" else v) for k, v in generator.items()}
    path = tmp_path / "two_net_G.pth"
    _write_pth(path, {"net_G": changed, "net_G_ema": generator, "epoch": 7})
    refused = convert(str(path), tmp_path / "refused", *INADE_TINY)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"error: {path} holds several state dicts ('net_G', 'net_G_ema'); name the one to read with --key"
    ]
    assert not (tmp_path / "refused").exists()
    plain = convert(os.path.join(fixtures_dir, "official_inade_tiny", "net_G.pth"), tmp_path / "plain", *INADE_TINY)
    assert plain.returncode == 0, plain.stderr
    picked = convert(str(path), tmp_path / "picked", *INADE_TINY, "--key", "net_G_ema")
    assert picked.returncode == 0, picked.stderr
    _assert_same_conversion(tmp_path / "picked", tmp_path / "plain", roles=("generator",))
    absent = convert(str(path), tmp_path / "absent", *INADE_TINY, "--key", "model")
    assert absent.returncode == 2 and "Traceback" not in absent.stderr
    assert absent.stderr.strip().splitlines() == [
        f"error: {path} holds a dict with keys ['net_G', 'net_G_ema', 'epoch'], with no entry 'model'"
    ]


@pytest.mark.parametrize("release, removed, extra", [
    ("official_inade_tiny", "fc.weight", INADE_TINY),  # the first key the converter looks at
    ("official_spade_vae_tiny", "head_0.norm_0.mlp_shared.0.weight", SPADE_TINY),  # SPADE's edge channel is read off it
])
def test_a_generator_missing_a_key_the_converter_reads_gives_the_missing_key_line(fixtures_dir, tmp_path, release, removed, extra):
    state = _fixture_state(fixtures_dir, release, "net_G")
    assert removed in state
    (tmp_path / "release").mkdir()
    # DataParallel's prefix too: the line names the key as the network has it
    _write_pth(tmp_path / "release" / "best_net_G.pth", {f"module.{k}": v for k, v in state.items() if k != removed})
    done = convert(str(tmp_path / "release"), tmp_path / "out", *extra)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'release' / 'best_net_G.pth'} does not fit the Generator")
    assert lines[0].endswith(f"of this configuration: missing {removed}"), lines[0]
