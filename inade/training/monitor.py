"""What a person watching training sees: a progress bar, a text log, VisualDL."""
from __future__ import annotations

import os
import time
import warnings


class TrainingMonitor:
    """Rank 0 writes; other ranks get a monitor that does nothing."""

    def __init__(self, run_dir: str, total: int, start: int, enabled: bool, progress_bar: bool, visualdl: bool):
        self.enabled = enabled
        self.bar = None
        self.writer = None
        self.log_file = None
        if not enabled:
            return
        self.log_file = open(os.path.join(run_dir, "train.log"), "a", encoding="utf-8")
        if progress_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="it", dynamic_ncols=True, smoothing=0.1)
        if visualdl:
            try:
                from visualdl import LogWriter
            except ImportError:
                warnings.warn("visualdl is not installed: no VisualDL logs (pip install visualdl)")
            else:
                self.writer = LogWriter(logdir=os.path.join(run_dir, "visualdl"))

    def message(self, text: str, echo: bool = True) -> None:
        """``text`` to train.log, and to the console unless ``echo`` is False."""
        if not self.enabled:
            return
        stamped = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}"
        self.log_file.write(stamped + "\n")
        self.log_file.flush()
        if not echo:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def advance(self, iteration: int, losses: dict, lrs: dict, images_per_second: float, log: bool) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if log:
                self.bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        if not log:
            return
        terms = " ".join(f"{k}={v:.4f}" for k, v in losses.items())
        rates = " ".join(f"lr_{k}={v:.3g}" for k, v in lrs.items())
        self.log_file.write(f"iter {iteration} {terms} {rates} img/s={images_per_second:.2f}\n")
        self.log_file.flush()
        if self.writer is not None:
            for name, value in losses.items():
                self.writer.add_scalar(tag=f"loss/{name}", value=value, step=iteration)
            for name, value in lrs.items():
                self.writer.add_scalar(tag=f"lr/{name}", value=value, step=iteration)
            self.writer.add_scalar(tag="speed/images_per_second", value=images_per_second, step=iteration)

    def image(self, tag: str, picture, iteration: int) -> None:
        if self.enabled and self.writer is not None:
            self.writer.add_image(tag=tag, img=picture, step=iteration, dataformats="HWC")

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self.log_file.close()
