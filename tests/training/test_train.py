import os
import signal
import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.config import load_config
from inade.data.procedural import ProceduralDataset
from inade.errors import ConfigError
from inade.training import TrainingDiverged, train
from inade.training import loop as loop_module
from inade.checkpoints.native import load_checkpoint

from .tiny import write_config



def generator_weights(run_dir):
    state = load_checkpoint(os.path.join(run_dir, "checkpoints", "latest.safetensors"))
    return {k: np.asarray(v) for k, v in state["generator"].items()}, state


def test_cli_trains_writes_checkpoints_logs_and_refuses_to_redo_a_finished_run(tmp_path):
    run = tmp_path / "run"
    config = write_config(tmp_path, run)
    command = [sys.executable, "-m", "inade", "train", "--config", config]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(run / "checkpoints")) == ["iter_00000002.safetensors", "iter_00000004.safetensors", "latest.safetensors"]
    assert (run / "config.yaml").exists() and (run / "train.log").read_text().count("\niter ") >= 3
    assert any(name.startswith("vdlrecords") for name in os.listdir(run / "visualdl"))
    _, state = generator_weights(run)
    assert state["iteration"] == 4 and state["config"]["model"]["ngf"] == 4
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already finished 4 iterations" in again.stdout
    fresh = subprocess.run(command + ["--no-resume"], capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "run-2" / "checkpoints" / "latest.safetensors").exists()


@pytest.mark.parametrize("override, message", [
    ("model.ngff=4", "error: unknown configuration key 'model.ngff'; did you mean 'model.ngf'?"),
    ("optim.lr=-1", "error: optim: optim.lr must be positive, got -1.0"),
    ("loss.lambda_kld=.nan", "error: loss.lambda_kld: expected a finite number, got nan"),
    ("data.seed=-5", "error: data: data.seed must be between 0 and 2**32 - 1, got -5"),
    ("output_dir=FILE", "is a file, not a folder; choose a folder for the run"),
    ("output_dir=FILE/run", "cannot be made:"),
])
def test_cli_reports_config_mistakes_in_one_line_and_writes_nothing(tmp_path, override, message):
    config = write_config(tmp_path, tmp_path / "run")
    (tmp_path / "notes.txt").write_text("precious")
    override = override.replace("FILE", str(tmp_path / "notes.txt"))
    done = subprocess.run([sys.executable, "-m", "inade", "train", "--config", config, "-o", override],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "tiny.yaml"]
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_resumed_run_reproduces_the_uninterrupted_one_exactly(tmp_path):
    straight = train(load_config(write_config(tmp_path, tmp_path / "a", optim={"iterations": 6})))
    paddle.seed(999)  # a resumed process starts from whatever state: the checkpoint must restore it
    first = train(load_config(write_config(tmp_path, tmp_path / "b", optim={"iterations": 3})))
    assert first.iteration == 3
    resumed = train(load_config(write_config(tmp_path, tmp_path / "b", optim={"iterations": 6})))
    assert resumed.iteration == 6 and resumed.last_losses == straight.last_losses
    weights_a, _ = generator_weights(tmp_path / "a")
    weights_b, _ = generator_weights(tmp_path / "b")
    for name in weights_a:
        np.testing.assert_array_equal(weights_a[name], weights_b[name], err_msg=name)


def test_resume_refuses_a_changed_model(tmp_path):
    train(load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 2})))
    with pytest.raises(ConfigError, match=r"cannot resume .*model.ngf: 4 -> 8"):
        train(load_config(write_config(tmp_path, tmp_path / "run", model={"ngf": 8})))


def test_a_foreign_non_empty_output_folder_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(ConfigError, match="is not empty and holds no inade run"):
        train(load_config(write_config(tmp_path, tmp_path / "mine")))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_step = loop_module.train_step

    def failing_step(*args, **kwargs):
        fake, losses = real_step(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            losses["G_GAN"] = float("nan")
        return fake, losses

    calls = []
    monkeypatch.setattr(loop_module, "train_step", failing_step)
    config = load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 6}))
    with pytest.raises(TrainingDiverged, match="loss G_GAN became nan at iteration 3"):
        train(config)
    _, state = generator_weights(tmp_path / "run")
    assert state["iteration"] == 2


def test_ctrl_c_saves_after_the_current_iteration_and_the_run_resumes(tmp_path, monkeypatch):
    real_step = loop_module.train_step
    calls = []

    def interrupted_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop_module, "train_step", interrupted_step)
    config = load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 6},
                                      logging={"checkpoint_every": 100, "image_every": 0, "progress_bar": False}))
    result = train(config)
    assert result.status == "interrupted" and result.iteration == 3
    _, state = generator_weights(tmp_path / "run")
    assert state["iteration"] == 3
    monkeypatch.setattr(loop_module, "train_step", real_step)
    assert train(config).iteration == 6


def test_two_processes_train_data_parallel_and_end_identical(tmp_path):
    config = write_config(tmp_path, tmp_path / "run", optim={"iterations": 3})
    command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
               "--log_dir", str(tmp_path / "logs"), os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist_worker.py"),
               config, str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    logs = "".join((tmp_path / "logs" / n).read_text() for n in sorted(os.listdir(tmp_path / "logs"))) if (tmp_path / "logs").exists() else ""
    assert done.returncode == 0, done.stderr[-2000:] + logs[-3000:]
    rank0 = (tmp_path / "rank0.txt").read_text().split()
    rank1 = (tmp_path / "rank1.txt").read_text().split()
    assert rank0[1] == rank1[1] == "3"
    assert rank0[2] == "4"  # 16 samples, batch 2, split over 2 ranks
    assert rank0[0] == rank1[0], "ranks diverged: gradients were not averaged"
    # only rank 0 writes the run folder
    assert (tmp_path / "run" / "checkpoints" / "latest.safetensors").exists()


def test_length_in_epochs(tmp_path):
    # 16 samples in batches of 2: one epoch is 8 iterations
    result = train(load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": None, "epochs": 1},
                                            logging={"image_every": 0, "checkpoint_every": 100})))
    assert result.iteration == 8 and result.status == "finished"


@pytest.mark.parametrize("mode,use_encoder", [("spade", True), ("spade", False), ("clade", True)])
def test_baselines_train_with_and_without_their_image_encoder(tmp_path, mode, use_encoder):
    config = load_config(write_config(tmp_path, tmp_path / "run", model={"norm_mode": mode, "use_encoder": use_encoder},
                                      optim={"iterations": 2}, logging={"image_every": 1}))
    result = train(config)
    assert result.status == "finished"
    assert ("KLD" in result.last_losses) == use_encoder


def test_the_pixel_reconstruction_term_trains_and_needs_an_encoder(tmp_path):
    result = train(load_config(write_config(tmp_path, tmp_path / "run", loss={"lambda_vgg": 0.0, "lambda_l1": 2.0},
                                            optim={"iterations": 1}, logging={"image_every": 0})))
    assert result.last_losses["L1"] > 0
    with pytest.raises(ConfigError, match="loss.lambda_l1 needs model.use_encoder"):
        load_config(write_config(tmp_path, tmp_path / "run2", loss={"lambda_l1": 2.0}, model={"use_encoder": False}))
    with pytest.raises(ConfigError, match="loss.l1_chromaticity_weight weighs a part of the L1 term and needs loss.lambda_l1 > 0"):
        load_config(write_config(tmp_path, tmp_path / "run3", loss={"l1_chromaticity_weight": 4.0}))
    with pytest.raises(ConfigError, match="loss.l1_contrast_weight weighs a part of the L1 term and needs loss.lambda_l1 > 0"):
        load_config(write_config(tmp_path, tmp_path / "run4", loss={"l1_contrast_weight": 1.0}))
    with pytest.raises(ConfigError, match="needs loss.l1_pool >= 2, got 1"):
        load_config(write_config(tmp_path, tmp_path / "run5", loss={"lambda_l1": 2.0, "l1_contrast_weight": 1.0, "l1_pool": 1}))


def test_clade_with_its_positional_map_trains_samples_and_exports(tmp_path):
    from inade.synthesis import Synthesizer
    from inade.synthesis.export import export_model
    from inade.synthesis.inference import load_predictor, predict

    config = load_config(write_config(tmp_path, tmp_path / "run", model={"norm_mode": "clade", "clade_positional": True},
                                      optim={"iterations": 2}, logging={"image_every": 1}))
    assert train(config).status == "finished"
    weights, _ = generator_weights(tmp_path / "run")
    moved = [name for name, value in weights.items() if "position_scale.weight" in name and np.abs(value).sum() > 0]
    assert moved, "the positional convs got no gradient"
    synth = Synthesizer.load(str(tmp_path / "run"))
    label, _, _, _ = ProceduralDataset(size=32, num_samples=2).layout(0)
    images, _ = synth.sample(synth.scene(label), 2, seed=0)
    assert images.shape == (2, 3, 32, 32) and np.isfinite(images).all()
    # exported with only the inputs CLADE uses (semantics, z, positional map) and matching eager
    paths = export_model(synth, str(tmp_path / "export"))
    scene = synth.scene(label)
    semantics, _ = synth._tensors(scene, 1)
    positional = synth._positional(scene)
    z = paddle.randn([1, synth.generator.z_dim])
    with paddle.no_grad():
        eager = synth.generator(semantics, None, None, z, positional).numpy()
    (exported,) = predict(load_predictor(paths["generator"]), semantics.numpy(), z.numpy(), positional.numpy())
    np.testing.assert_allclose(exported, eager, atol=1e-5)
    photo = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 32)).astype("float32")
    with paddle.no_grad():
        eager_stats = [t.numpy() for t in synth.encoder(paddle.to_tensor(photo))]
    for ours, theirs in zip(predict(load_predictor(paths["encoder"]), photo), eager_stats):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    with pytest.raises(ConfigError, match="clade_positional needs norm_mode clade"):
        load_config(write_config(tmp_path, tmp_path / "run2", model={"clade_positional": True}))


def test_models_without_the_instance_edge_channel_train(tmp_path):
    config = load_config(write_config(tmp_path, tmp_path / "run", model={"norm_mode": "spade", "instance_edges": False},
                                      optim={"iterations": 1}, logging={"image_every": 1}))
    assert train(config).status == "finished"
    weights, _ = generator_weights(tmp_path / "run")
    assert weights["head_0.norm_0.mlp_shared.0.weight"].shape[1] == 6  # the 6 classes, no edge channel


def test_attentive_normalization_trains_in_generator_and_discriminator_with_its_regulariser(tmp_path):
    config = load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 2}, logging={"image_every": 1},
                                      model={"norm_mode": "spade", "use_encoder": False, "attentive_norm_width": 16,
                                             "attentive_norm_discriminator": True, "attentive_norm_entities": 4}))
    result = train(config)
    assert result.status == "finished" and {"AN_G", "AN_D"} <= set(result.last_losses)
    _, state = generator_weights(tmp_path / "run")
    assert any(k.startswith("attentive_norm.") for k in state["generator"])
    assert all(f"scales.{i}.layers.0.attentive_norm.region_gamma" in state["discriminator"] for i in range(2))
    assert float(np.asarray(state["generator"]["attentive_norm.residual_weight"]).reshape(-1)[0]) != 0.0


def test_runs_from_before_a_new_model_key_existed_resume(tmp_path):
    import yaml

    train(load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 2})))
    saved = tmp_path / "run" / "config.yaml"
    old = yaml.safe_load(saved.read_text())
    del old["model"]["spade_hidden"], old["model"]["instance_edges"]  # as a run of an earlier version wrote it
    saved.write_text(yaml.safe_dump(old))
    result = train(load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 3})))
    assert result.status == "finished" and result.iteration == 3
