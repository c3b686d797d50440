"""The training run: build everything from a configuration, train, checkpoint,
resume. Entry point: ``train(config, resume=True)``."""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import random
import signal
import time
import warnings

import numpy as np
import paddle

from ..config import lr_factor, save_config, to_dict
from ..data.loader import DeviceTransfer, build_loader
from ..data.semantics import class_channels
from ..errors import InadeError
from ..losses import load_vgg19
from ..networks.build import build_discriminator, build_encoder, build_generator
from . import distributed
from .checkpoint import CheckpointStore
from .encoder_fit import build_encoder_optimizer, encoder_fit_step
from .run_dir import CHECKPOINTS, CONFIG_NAME, check_same_setup, choose_run_dir
from .sampler import ResumableBatchSampler
from .snapshots import training_grid
from .precision import Precision
from .step import train_step


class TrainingDiverged(InadeError):
    """A loss became NaN or infinite."""


@dataclasses.dataclass
class RunResult:
    run_dir: str
    iteration: int
    status: str  # "finished" | "interrupted" | "already finished"
    last_losses: dict


class _StopRequest:
    """Ctrl-C or SIGTERM asks the loop to stop after the current iteration (so
    the checkpoint it saves is consistent); a second one stops at once."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def _rename_state(state: dict, renames: dict) -> dict:
    """Rename optimizer-state keys, which start with a parameter's name."""
    ordered = sorted(renames.items(), key=lambda item: -len(item[0]))
    out = {}
    for key, value in state.items():
        for old, new in ordered:
            if key.startswith(old + "_"):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


def _rng_state() -> dict:
    return {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    paddle.set_rng_state(state["paddle"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


class Training:
    """Everything one run holds: networks, optimisers, data, position."""

    def __init__(self, config, dataset):
        self.config = config
        self.dataset = dataset
        data, model = config.data, config.model
        self.num_classes = class_channels(dataset.label_nc, dataset.contain_dontcare)
        self.generator = build_generator(model, self.num_classes, data.crop_size, data.aspect_ratio)
        self.encoder = build_encoder(model, data.crop_size)
        self.discriminator = build_discriminator(model, self.num_classes)
        # Paddle has no CPU kernel for SyncBatchNorm: on CPU each process keeps its own batch norm.
        if model.param_free_norm == "syncbatch" and distributed.world_size() > 1 and paddle.is_compiled_with_cuda():
            self.generator = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(self.generator)
        for network in self.networks:
            distributed.broadcast_parameters(network)
        g_params = list(self.generator.parameters()) + (list(self.encoder.parameters()) if self.encoder else [])
        g_params = [p for p in g_params if not p.stop_gradient]
        d_params = [p for p in self.discriminator.parameters() if not p.stop_gradient]
        self.sampler = ResumableBatchSampler(
            len(dataset),
            data.batch_size,
            seed=config.seed,
            shuffle=True,
            drop_last=True,
            rank=distributed.rank(),
            world_size=distributed.world_size(),
        )
        if len(self.sampler) == 0:
            raise InadeError(
                f"the dataset has {len(dataset)} samples, fewer than one batch of {data.batch_size} "
                f"per process; lower data.batch_size"
            )
        optim = config.optim
        self.total_iterations, decay = optim.schedule(len(self.sampler))
        lr_g, lr_d = optim.learning_rates()
        beta1, beta2 = optim.betas()
        total = self.total_iterations
        self.schedulers = {
            name: paddle.optimizer.lr.LambdaDecay(lr, lambda it: lr_factor(it, total, decay))
            for name, lr in (("G", lr_g), ("D", lr_d))
        }
        # Multi-tensor Adam updates every parameter in one merged kernel: the same
        # arithmetic, about 3x faster on CPU than one kernel call per parameter.
        # It needs a gradient for every parameter at every step (train_step checks).
        self.opt_g = paddle.optimizer.Adam(self.schedulers["G"], beta1=beta1, beta2=beta2, parameters=g_params, use_multi_tensor=True)
        self.opt_d = paddle.optimizer.Adam(self.schedulers["D"], beta1=beta1, beta2=beta2, parameters=d_params, use_multi_tensor=True)
        # The encoder-fitting stage follows the adversarial iterations (whose count,
        # and learning-rate schedule, stay total_iterations).
        self.fit_iterations = optim.encoder_fit_iterations
        self.opt_e = build_encoder_optimizer(self.encoder, optim.encoder_fit_lr) if self.fit_iterations else None
        self.vgg = self._vgg(config.loss)
        self.precision = Precision(optim.amp)  # refuses half precision on the CPU
        self.iteration = 0
        self.epoch = 0
        self.batch_in_epoch = 0

    def _parameter_names(self) -> dict:
        """Paddle's automatic tensor name -> a name that is the same in every process."""
        names = {}
        for prefix, network in (("generator", self.generator), ("encoder", self.encoder), ("discriminator", self.discriminator)):
            if network is not None:
                names.update({p.name: f"{prefix}.{n}" for n, p in network.named_parameters()})
        return names

    @property
    def end(self) -> int:
        """The last iteration of the run, both stages."""
        return self.total_iterations + self.fit_iterations

    @property
    def fitting_encoder(self) -> bool:
        return self.iteration >= self.total_iterations

    @property
    def networks(self):
        return [n for n in (self.generator, self.encoder, self.discriminator) if n is not None]

    @staticmethod
    def _vgg(loss):
        if not loss.lambda_vgg:
            return None
        if not loss.vgg_weights:
            warnings.warn(
                "loss.lambda_vgg is set but loss.vgg_weights names no VGG19 weights file: the VGG term is off. "
                "Point loss.vgg_weights at torchvision's vgg19 .pth or a .pdparams to enable it.",
                stacklevel=2,
            )
            return None
        return load_vgg19(loss.vgg_weights)

    def state_dict(self) -> dict:
        return {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "generator": self.generator.state_dict(),
            "encoder": self.encoder.state_dict() if self.encoder else None,
            "discriminator": self.discriminator.state_dict(),
            # Optimizer states are keyed by tensor names that depend on creation order: store stable ones.
            "opt_g": _rename_state(self.opt_g.state_dict(), self._parameter_names()),
            "opt_d": _rename_state(self.opt_d.state_dict(), self._parameter_names()),
            "opt_e": _rename_state(self.opt_e.state_dict(), self._parameter_names()) if self.opt_e else None,
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "rng": _rng_state(),
            "config": to_dict(self.config),
            "classes": {"label_nc": self.dataset.label_nc, "contain_dontcare": self.dataset.contain_dontcare},
            **({"loss_scales": self.precision.state_dict()} if self.precision.amp == "fp16" else {}),
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state_dict(state["generator"])
        if self.encoder is not None and state.get("encoder") is not None:
            self.encoder.set_state_dict(state["encoder"])
        if state.get("discriminator") is not None:
            self.discriminator.set_state_dict(state["discriminator"])
        if "opt_g" not in state:
            return  # converted release weights: fine-tune from them with fresh optimisers
        back = {stable: auto for auto, stable in self._parameter_names().items()}
        self.opt_g.set_state_dict(_rename_state(state["opt_g"], back))
        self.opt_d.set_state_dict(_rename_state(state["opt_d"], back))
        if self.opt_e is not None and state.get("opt_e"):
            self.opt_e.set_state_dict(_rename_state(state["opt_e"], back))
        for name, scheduler in self.schedulers.items():
            scheduler.set_state_dict(state["schedulers"][name])
        self.precision.load_state_dict(state.get("loss_scales"))
        self.iteration = int(state["iteration"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        _set_rng_state(state["rng"])

    def batches(self):
        """Endless batches from the current position, epoch after epoch."""
        from ..data import semantic_input, instance_onehot
        from ..data.positional import dataset_positional_maps

        to_device = DeviceTransfer()  # pinned memory for GPUs
        while True:
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(self.epoch)
            self.sampler.set_position(self.epoch, self.batch_in_epoch)
            for batch in build_loader(self.dataset, self.sampler, self.config.data.num_workers):
                to_device.new_batch()
                label, instance, image = (to_device(batch[key]) for key in ("label", "instance", "image"))
                num_instances = int(np.asarray(batch["instance_ids"]).shape[1])
                semantics = semantic_input(label, instance, self.dataset.label_nc, self.dataset.contain_dontcare,
                                           self.generator.instance_edges)
                instances = instance_onehot(instance, num_instances)
                positional = None
                if self.generator.positional:
                    positional = to_device(dataset_positional_maps(
                        np.asarray(batch["label"]), self.config.data, self.dataset.label_nc, self.dataset.contain_dontcare))
                yield batch, (semantics, instances, image, positional)
            self.epoch += 1
            self.batch_in_epoch = 0

    def step(self, semantics, instances, image, positional=None):
        if self.fitting_encoder:
            fake, losses = encoder_fit_step(self.generator, self.encoder, self.opt_e, self.config.loss, self.vgg,
                                            semantics, instances, image, positional)
        else:
            for network in self.networks:
                network.train()
            fake, losses = train_step(
                (self.generator, self.encoder, self.discriminator),
                (self.opt_g, self.opt_d),
                self.config.loss,
                self.vgg,
                semantics,
                instances,
                image,
                positional,
                self.precision,
            )
            for scheduler in self.schedulers.values():
                scheduler.step()
        self.iteration += 1
        self.batch_in_epoch += 1
        return fake, losses

    def learning_rates(self) -> dict:
        """The rates of the iteration just taken."""
        if self.opt_e is not None and self.iteration > self.total_iterations:
            return {"E": float(self.opt_e.get_lr())}
        return {name: float(s()) for name, s in self.schedulers.items()}


def train(config, resume: bool = True, dataset=None) -> RunResult:
    """Train from ``config`` (a Config); resumes from the run folder's latest
    checkpoint unless ``resume`` is False (then a fresh sibling folder is used)."""
    from ..data import build_dataset
    from ..data.check import preflight
    from .monitor import TrainingMonitor

    distributed.init_if_launched()
    is_main = distributed.rank() == 0
    run_dir, resuming = choose_run_dir(config.output_dir, resume)
    if resuming:
        check_same_setup(run_dir, to_dict(config))
    paddle.seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    dataset = dataset if dataset is not None else build_dataset(config.data, "train")
    # Every file checked (or the bad ones dropped) before anything is written.
    dataset, data_summary, data_notes = preflight(dataset, config.data)
    if config.data.class_names is None and getattr(dataset, "class_names", None) and config.data.type == "folder":
        # names read from a classes.txt beside the data go into the run's config
        # and checkpoints, so that the model keeps them when the data moves
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, class_names=list(dataset.class_names)))
    training = Training(config, dataset)
    store = CheckpointStore(os.path.join(run_dir, CHECKPOINTS), keep=config.logging.keep_checkpoints)
    leftovers = store.remove_temp_files() if is_main else []
    if resuming:
        training.load_state_dict(store.load_latest())
    # Ranks draw different noise from here on; weights were broadcast from rank 0.
    # (Only rank 0's random state is in the checkpoint: the others start afresh.)
    if not resuming or distributed.rank() > 0:
        paddle.seed(config.seed + 1 + 1000 * distributed.rank() + training.iteration)
    total = training.end
    if training.iteration >= total:
        return RunResult(run_dir, training.iteration, "already finished", {})
    # The first batch is read before the run folder is made: a bad file in it
    # ends the run with nothing written.
    batches = training.batches()
    batches = itertools.chain([next(batches)], batches)
    if is_main:
        os.makedirs(run_dir, exist_ok=True)
        save_config(config, os.path.join(run_dir, CONFIG_NAME))
    monitor = TrainingMonitor(
        run_dir, total, training.iteration, is_main, config.logging.progress_bar, config.logging.visualdl
    )
    verb = f"resuming at iteration {training.iteration}" if resuming else "starting"
    stages = f"{training.total_iterations} + {training.fit_iterations} encoder-fitting iterations" if training.fit_iterations else f"{total} iterations"
    monitor.message(f"{verb}: {run_dir} ({len(dataset)} samples, {stages})")
    if data_summary:
        monitor.message(data_summary, echo=False)  # preflight printed it
    for note in data_notes:
        monitor.message(note)
    if leftovers:
        monitor.message(f"removed {len(leftovers)} temp files of interrupted checkpoint saves from {store.folder}")
    stop = _StopRequest()
    previous_handlers = (
        {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if _in_main_thread() else {}
    )
    losses, status = {}, "finished"
    log_cfg = config.logging
    try:
        while training.iteration < total:
            started = time.perf_counter()
            batch, inputs = next(batches)
            fake, losses = training.step(*inputs)
            bad = [name for name, value in losses.items() if not math.isfinite(value)]
            if bad:
                raise TrainingDiverged(
                    f"loss {', '.join(bad)} became {losses[bad[0]]} at iteration {training.iteration}; "
                    f"stopped without saving, the last good checkpoint in {store.folder} is kept "
                    "(lower optim.lr or check the data)"
                )
            it = training.iteration
            seconds = time.perf_counter() - started
            speed = fake.shape[0] * distributed.world_size() / max(seconds, 1e-9)
            monitor.advance(it, losses, training.learning_rates(), speed, log=it % log_cfg.log_every == 0 or it == total)
            if is_main and log_cfg.image_every and (it % log_cfg.image_every == 0 or it == 1):
                monitor.image("samples", training_grid(training, batch, inputs, fake), it)
            if is_main and (it % log_cfg.checkpoint_every == 0 or it == total):
                store.save(training.state_dict(), periodic=it % log_cfg.checkpoint_every == 0)
            if stop.requested and it < total:
                status = "interrupted"
                if is_main:
                    store.save(training.state_dict(), periodic=False)
                monitor.message(f"interrupted at iteration {it}: checkpoint saved, run the same command to resume")
                break
        else:
            monitor.message(f"finished {total} iterations: {run_dir}")
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
        monitor.close()
    return RunResult(run_dir, training.iteration, status, losses)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
