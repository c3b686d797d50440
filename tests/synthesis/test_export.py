import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.data.semantics import instance_onehot, semantic_input
from inade.synthesis import Synthesizer
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
        (exported,) = predict(load_predictor(str(out / "generator")), semantics, instances, noise, z)
        np.testing.assert_allclose(exported, eager, atol=1e-5)
        photo = rng.uniform(-1, 1, (batch, 3, *synth.size)).astype("float32")
        with paddle.no_grad():
            eager_stats = [t.numpy() for t in synth.encoder(paddle.to_tensor(photo), paddle.to_tensor(instances))]
        exported_stats = predict(load_predictor(str(out / "encoder")), photo, instances)
        for ours, theirs in zip(exported_stats, eager_stats):
            np.testing.assert_allclose(ours, theirs, atol=1e-5)
