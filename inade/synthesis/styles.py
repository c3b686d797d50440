"""Style codes: what the generator needs besides the maps, keyed by the raw
instance ids of the user's instance map, saved as small JSON files.

A local edit (inade.synthesis.local) keeps the styles it edited as ``base``
and the edited instance ids as ``edited``: its image is the rendering of these
codes composited into the image of ``base`` over the edited instances. A style
file stores that chain as "history" (newest first, each entry the edited ids
and the codes that differed before the edit), so that it reproduces a locally
edited image bit for bit."""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from ..atomic import atomic_write_text
from ..errors import InadeError
from ..json_files import read_json


@dataclasses.dataclass
class Styles:
    """z [z_dim]; noise {raw id: [2, noise_nc]} (scale path, bias path)."""

    z: np.ndarray
    noise: dict
    classes: dict  # raw id -> class id
    seed: int | None = None
    class_names: tuple | None = None
    base: "Styles | None" = dataclasses.field(default=None, repr=False, compare=False)  # the styles a local edit edited
    edited: tuple = ()  # raw ids of the instances a local edit redrew

    def copy(self) -> "Styles":
        """The codes only: a copy renders as a whole image, without the edit history."""
        return Styles(self.z.copy(), {k: v.copy() for k, v in self.noise.items()}, dict(self.classes), self.seed, self.class_names)

    def edit_of(self, before: "Styles", ids) -> "Styles":
        """These codes as a local edit of ``before`` over the instances ``ids``."""
        return dataclasses.replace(self, base=before, edited=tuple(sorted(int(i) for i in ids)))

    def chain(self) -> list:
        """This and the styles it edited, newest first (ends with a whole image)."""
        chain = [self]
        while chain[-1].base is not None:
            chain.append(chain[-1].base)
        return chain

    def _instances(self, ids) -> dict:
        def name(cls):
            return self.class_names[cls] if self.class_names and 0 <= cls < len(self.class_names) else None

        return {str(raw): {"class": int(self.classes[raw]), "class_name": name(int(self.classes[raw])),
                           "noise": self.noise[raw].astype(float).tolist()} for raw in sorted(ids)}

    def to_json(self) -> str:
        document = {"seed": self.seed, "z": self.z.astype(float).tolist(), "instances": self._instances(self.noise)}
        history = []
        for later, earlier in zip(self.chain(), self.chain()[1:]):
            before = {"seed": earlier.seed, "instances": self._instances_of(earlier, later)}
            if not np.array_equal(earlier.z, later.z):
                before["z"] = earlier.z.astype(float).tolist()
            history.append({"edited": list(later.edited), "before": before})
        if history:
            document["history"] = history
        return json.dumps(document, indent=1)

    @staticmethod
    def _instances_of(earlier: "Styles", later: "Styles") -> dict:
        changed = [raw for raw in earlier.noise if raw not in later.noise or not np.array_equal(earlier.noise[raw], later.noise[raw])]
        return earlier._instances(changed)

    def save(self, path: str) -> None:
        atomic_write_text(path, self.to_json())

    @staticmethod
    def load(path: str, class_names=None) -> "Styles":
        try:
            document = read_json(path)
            styles = Styles(*_codes(document["z"], document["instances"]), document.get("seed"), class_names)
            later = styles
            for entry in document.get("history", []):
                earlier = later.copy()
                before = entry["before"]
                earlier.seed = before.get("seed")
                if "z" in before:
                    earlier.z = np.asarray(before["z"], dtype=np.float32)
                noise, classes = _codes(None, before["instances"])[1:]
                earlier.noise.update(noise)
                earlier.classes.update(classes)
                later.base, later.edited = earlier, tuple(int(i) for i in entry["edited"])
                later = earlier
        except FileNotFoundError:
            raise InadeError(f"style file not found: {path}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InadeError(f"{path} is not an inade style file ({error})") from None
        return styles


def _codes(z, instances):
    noise = {int(k): np.asarray(v["noise"], dtype=np.float32) for k, v in instances.items()}
    classes = {int(k): int(v["class"]) for k, v in instances.items()}
    return (None if z is None else np.asarray(z, dtype=np.float32)), noise, classes
