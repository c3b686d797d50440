"""Mixed precision for the training forwards (``optim.amp``), for GPUs.

``off`` runs everything in fp32 exactly as without this module. ``fp16`` and
``bf16`` run the forwards under paddle.amp.auto_cast (level O1: Paddle's list
of operators that are safe in half precision, convolutions and matmuls among
them, run in it; the rest, norms and losses included, stay fp32) while the
weights and Adam's state stay fp32. fp16 has a narrow exponent range, so its
losses are scaled up before the backward and the gradients scaled back before
the update (paddle.amp.GradScaler, one per optimizer, so that an overflow in
one network's gradients skips only that network's update); a step whose
gradients overflow is skipped and its scale lowered. bf16 has fp32's range
and needs no scaling. The encoder-fitting stage after the adversarial
iterations (optim.encoder_fit_iterations) runs in fp32.

On the CPU, half precision is refused rather than warned about: Paddle's
auto_cast and GradScaler do nothing on a CPU place (they say so in a warning
and run fp32), so the run would train in fp32 while its configuration, saved
with every checkpoint, says fp16 or bf16.
"""
from __future__ import annotations

import contextlib

import paddle

from ..errors import ConfigError

AMP_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}


class Precision:
    """How the training forwards and updates run: ``autocast()`` around a
    forward, ``backward(loss, role)`` and ``step(optimizer, role)`` for each
    optimizer's role ("G", "D")."""

    def __init__(self, amp: str = "off", device: str | None = None):
        """``device``: where the run trains, as paddle.device.get_device() names
        it (the default: Paddle's current device, where training puts its tensors)."""
        if amp != "off" and amp not in AMP_DTYPES:
            raise ConfigError(f"optim.amp: {amp!r} is not one of off, fp16, bf16")
        if amp != "off":
            device = paddle.device.get_device() if device is None else device
            if device.split(":")[0] == "cpu":
                raise ConfigError(f"optim.amp: {amp} is for GPUs and this run is on the CPU; "
                                  "set optim.amp: off (fp32) to train here")
        self.amp = amp
        self.scalers = {}

    @property
    def enabled(self) -> bool:
        return self.amp != "off"

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return paddle.amp.auto_cast(enable=True, level="O1", dtype=AMP_DTYPES[self.amp])

    def _scaler(self, role: str):
        if self.amp != "fp16":
            return None
        if role not in self.scalers:
            self.scalers[role] = paddle.amp.GradScaler(init_loss_scaling=2.0**15)
        return self.scalers[role]

    def backward(self, loss, role: str) -> None:
        if not self.enabled:
            loss.backward()
            return
        loss = self.full(loss)
        scaler = self._scaler(role)
        (loss if scaler is None else scaler.scale(loss)).backward()

    def full(self, tensor):
        """``tensor`` in fp32 (a forward's output may come out of autocast in half precision)."""
        return tensor if tensor.dtype == paddle.float32 else tensor.astype("float32")

    def step(self, optimizer, role: str) -> None:
        """The update of a prepared (averaged, checked) set of gradients."""
        scaler = self._scaler(role)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)  # unscales; skips the update if a gradient overflowed
            scaler.update()

    def state_dict(self) -> dict:
        """The loss scales and their counters (fp16 only), for exact resume."""
        return {role: scaler.state_dict() for role, scaler in self.scalers.items()}

    def load_state_dict(self, state: dict | None) -> None:
        """Loss scales saved by an fp16 run; ignored by other precisions (a run
        resumed with optim.amp changed starts without loss scaling or with fresh scales)."""
        if self.amp != "fp16":
            return
        for role, scaler_state in (state or {}).items():
            self._scaler(role).load_state_dict(scaler_state)


FULL_PRECISION = Precision("off")
