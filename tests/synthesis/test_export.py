import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.data.semantics import instance_onehot, semantic_input
from inade.synthesis import Synthesizer
from inade.synthesis.export import export_model
from inade.synthesis.export_graph import give_batch_norms_affine_parameters
from inade.synthesis.inference import load_predictor, predict



@pytest.mark.parametrize("run", ["tiny_run", "tiny_colour_run"])
def test_exported_generator_and_encoder_match_eager_with_paddle_inference(run, request, scene_files, tmp_path):
    tiny_run = request.getfixturevalue(run)
    out = tmp_path / "export"
    done = subprocess.run([sys.executable, "-m", "inade", "export", "--checkpoint", tiny_run,
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    synth = Synthesizer.load(tiny_run)
    assert (synth.encoder.colour_mlp is not None) == (run == "tiny_colour_run")  # the checkpoint rebuilds the option
    scene = synth.scene(scene_files[0]["label"], scene_files[0]["instance"])
    for batch in (1, 3):  # the batch size is dynamic
        label = paddle.to_tensor(np.repeat(scene.label[None, None], batch, 0))
        instance = paddle.to_tensor(np.repeat(scene.instance[None, None], batch, 0))
        semantics = semantic_input(label, instance, synth.label_nc, synth.contain_dontcare).numpy()
        instances = instance_onehot(instance, len(scene.instance_ids)).numpy()
        rng = np.random.default_rng(batch)
        noise = rng.standard_normal((batch, len(scene.instance_ids), 2, synth.generator.noise_nc)).astype("float32")
        z = rng.standard_normal((batch, synth.generator.z_dim)).astype("float32")
        with paddle.no_grad():
            eager = synth.generator(*(paddle.to_tensor(a) for a in (semantics, instances, noise, z))).numpy()
        photo = rng.uniform(-1, 1, (batch, 3, *synth.size)).astype("float32")
        with paddle.no_grad():
            eager_stats = [t.numpy() for t in synth.encoder(paddle.to_tensor(photo), paddle.to_tensor(instances))]
        for onednn in (True, False):  # Paddle Inference's oneDNN kernels (the default) and its plain ones
            (exported,) = predict(load_predictor(str(out / "generator"), onednn), semantics, instances, noise, z)
            np.testing.assert_allclose(exported, eager, atol=1e-5)
            exported_stats = predict(load_predictor(str(out / "encoder"), onednn), photo, instances)
            assert len(exported_stats) == len(eager_stats) == 4
            for ours, theirs in zip(exported_stats, eager_stats):
                np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("onednn", [True, False])
def test_exported_spade_generator_and_image_encoder_match_eager(tiny_spade_run, scene_files, tmp_path, onednn):
    synth = Synthesizer.load(tiny_spade_run)
    paths = export_model(synth, str(tmp_path / "export"))
    scene = synth.scene(scene_files[0]["label"], scene_files[0]["instance"])
    semantics, _ = synth._tensors(scene, 2)
    z = paddle.randn([2, synth.generator.z_dim])
    photo = paddle.uniform([2, 3, *synth.size], min=-1, max=1)
    with paddle.no_grad():
        eager = synth.generator(semantics, None, None, z).numpy()
        eager_stats = [t.numpy() for t in synth.encoder(photo)]
    (exported,) = predict(load_predictor(paths["generator"], onednn), semantics.numpy(), z.numpy())
    np.testing.assert_allclose(exported, eager, atol=1e-5)
    exported_stats = predict(load_predictor(paths["encoder"], onednn), photo.numpy())
    assert len(exported_stats) == len(eager_stats) == 2  # mu, logvar
    for ours, theirs in zip(exported_stats, eager_stats):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_export_gives_affine_free_batch_norms_a_unit_scale_without_changing_them():
    norm = paddle.nn.BatchNorm2D(3, weight_attr=False, bias_attr=False)
    norm.train()
    norm(paddle.randn([4, 3, 5, 5]) * 3 + 1)  # running statistics away from 0 and 1
    network = paddle.nn.Sequential(paddle.nn.Conv2D(2, 3, 1), norm).eval()
    x = paddle.randn([2, 2, 5, 5])
    before = network(x).numpy()
    give_batch_norms_affine_parameters(network)
    assert norm.weight is not None and norm.bias is not None
    np.testing.assert_array_equal(norm.weight.numpy(), np.ones(3, "float32"))
    np.testing.assert_allclose(network(x).numpy(), before, rtol=1e-6, atol=1e-6)


def test_export_folds_the_inade_norms_batch_norms_into_stored_affines_without_changing_them():
    from inade.layers import InadeNorm
    from inade.layers.norms import FoldedBatchNorm
    from inade.synthesis.export_graph import fold_inade_batch_norms

    paddle.seed(2)
    norm = InadeNorm(channels=3, num_classes=2, noise_nc=4, param_free_norm="batch")
    segmap = paddle.nn.functional.one_hot(paddle.randint(0, 2, [2, 6, 6]), 2).transpose([0, 3, 1, 2])
    instances = paddle.nn.functional.one_hot(paddle.randint(0, 3, [2, 6, 6]), 3).transpose([0, 3, 1, 2])
    inputs = (paddle.randn([2, 3, 6, 6]) * 2 - 1, segmap, instances, paddle.randn([2, 3, 2, 4]))
    norm.train()
    norm(*inputs)  # running statistics away from 0 and 1
    norm.eval()
    before = norm(*inputs).numpy()
    give_batch_norms_affine_parameters(fold_inade_batch_norms(norm))
    assert isinstance(norm.param_free_norm, FoldedBatchNorm)
    assert all(p.stop_gradient for p in norm.param_free_norm.buffers())  # nothing to train, saved with the graph
    np.testing.assert_allclose(norm(*inputs).numpy(), before, rtol=1e-6, atol=1e-6)
