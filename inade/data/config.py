"""The data section of a configuration."""
from __future__ import annotations

import dataclasses
from typing import Literal, Optional

from .formats import FORMATS
from .readers import DEFAULT_MAX_PIXELS

# The built-in procedural data, and the file layouts of .formats (a new layout is a row there).
DatasetType = Literal[("procedural", *FORMATS)]
# The reference's resize steps (.transforms.resized_size).
PreprocessMode = Literal["resize_and_crop", "fixed", "scale_width_and_crop", "scale_shortside_and_crop", "none"]


@dataclasses.dataclass
class DataConfig:
    type: DatasetType = "procedural"
    # Standard layouts: the dataset's root folder. Generic folders: the three folders.
    root: Optional[str] = None
    image_dir: Optional[str] = None
    label_dir: Optional[str] = None
    instance_dir: Optional[str] = None
    # Generic folders: the validation split (held-out photos with their maps),
    # which `inade evaluate --checkpoint RUN` scores; instance maps as above.
    val_image_dir: Optional[str] = None
    val_label_dir: Optional[str] = None
    val_instance_dir: Optional[str] = None
    # Generic folders: one name per class id (0..label_nc-1), for --resample-class
    # NAME and the page; without it, a classes.txt (one name a line) in the folder
    # holding label_dir is read when present.
    class_names: Optional[list[str]] = None
    # Defaults come from the dataset type when left unset.
    label_nc: Optional[int] = None
    contain_dontcare: Optional[bool] = None
    dontcare_value: Optional[int] = None
    crop_size: int = 64
    load_size: Optional[int] = None
    aspect_ratio: float = 1.0
    preprocess_mode: PreprocessMode = "resize_and_crop"
    no_flip: bool = False
    max_instances: int = 64
    merge_extra_instances: bool = False
    instances_from: Literal["file", "label", "components"] = "file"
    batch_size: int = 8
    num_workers: int = 0
    procedural_samples: int = 2000
    seed: int = 0
    # Before training, open and check every file of the dataset (in parallel,
    # cached per file): all problems are reported at once, before a run folder
    # is made. Off only for a huge dataset you trust: a bad file then ends the
    # run when the loader reaches it.
    check_files: bool = True
    # With check_files: train on the good samples and list the bad ones,
    # instead of stopping.
    skip_bad_files: bool = False
    # Images larger than this are refused before they are decoded (memory).
    max_image_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self):
        if self.crop_size < 16:
            raise ValueError(f"data.crop_size must be at least 16, got {self.crop_size}")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be positive, got {self.batch_size}")
        if self.max_instances < 1:
            raise ValueError(f"data.max_instances must be positive, got {self.max_instances}")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers must be 0 or more, got {self.num_workers}")
        if self.max_image_pixels < 1:
            raise ValueError(f"data.max_image_pixels must be positive, got {self.max_image_pixels}")
        if self.skip_bad_files and not self.check_files:
            raise ValueError("data.skip_bad_files needs data.check_files: true (the check finds the files to skip)")
        if self.aspect_ratio <= 0:
            raise ValueError(f"data.aspect_ratio must be positive, got {self.aspect_ratio}")
        if self.procedural_samples < 1:
            raise ValueError(f"data.procedural_samples must be positive, got {self.procedural_samples}")
        if not 0 <= self.seed < 2**32:
            # numpy's generator takes unsigned 32-bit seeds
            raise ValueError(f"data.seed must be between 0 and 2**32 - 1, got {self.seed}")
