"""Style codes: what the generator needs besides the maps, keyed by the raw
instance ids of the user's instance map, saved as small JSON files."""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from ..atomic import atomic_write_text
from ..errors import InadeError


@dataclasses.dataclass
class Styles:
    """z [z_dim]; noise {raw id: [2, noise_nc]} (scale path, bias path)."""

    z: np.ndarray
    noise: dict
    classes: dict  # raw id -> class id
    seed: int | None = None
    class_names: tuple | None = None

    def copy(self) -> "Styles":
        return Styles(self.z.copy(), {k: v.copy() for k, v in self.noise.items()}, dict(self.classes), self.seed, self.class_names)

    def to_json(self) -> str:
        def name(cls):
            return self.class_names[cls] if self.class_names and 0 <= cls < len(self.class_names) else None

        document = {
            "seed": self.seed,
            "z": self.z.astype(float).tolist(),
            "instances": {
                str(raw): {"class": int(self.classes[raw]), "class_name": name(int(self.classes[raw])),
                           "noise": self.noise[raw].astype(float).tolist()}
                for raw in sorted(self.noise)
            },
        }
        return json.dumps(document, indent=1)

    def save(self, path: str) -> None:
        atomic_write_text(path, self.to_json())

    @staticmethod
    def load(path: str, class_names=None) -> "Styles":
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
            z = np.asarray(document["z"], dtype=np.float32)
            noise = {int(k): np.asarray(v["noise"], dtype=np.float32) for k, v in document["instances"].items()}
            classes = {int(k): int(v["class"]) for k, v in document["instances"].items()}
        except FileNotFoundError:
            raise InadeError(f"style file not found: {path}") from None
        except (ValueError, KeyError, TypeError) as error:
            raise InadeError(f"{path} is not an inade style file ({error})") from None
        return Styles(z, noise, classes, document.get("seed"), class_names)
