"""One browser tab's work: a scene, its current styles and image, a reference
photo, two kept styles to interpolate between. Every operation changes the
styles and renders; the page shows ``view()``."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..data.transforms import resize_image
from ..errors import InadeError
from ..synthesis.local import _dilate
from ..visuals import colorize_labels, to_uint8_image

# A locally edited image is reproduced from its whole edit history (the style
# file's "history"); past this many edits the next one re-renders the image
# whole, so that a session's state stays bounded.
MAX_EDITS = 100
INTERPOLATION_STEPS = 11  # the slider's positions: 0, 0.1, ..., 1
HIGHLIGHT = np.array([255, 230, 0], np.uint8)


@dataclasses.dataclass
class Shown:
    """A scene as the page received it: the scene and its raw label values (the
    dataset's, which the scene maps to classes) at the model's size."""

    scene: object
    raw_label: np.ndarray


@dataclasses.dataclass
class View:
    """What the page shows after an operation."""

    image: np.ndarray  # [H, W, 3] uint8, the generated image
    label: np.ndarray  # [H, W, 3] uint8, the label map in the palette's colours
    instances: list  # [(raw id, class id, class name)]
    reference: np.ndarray | None
    notes: list
    changed: tuple = ()  # raw ids an operation redrew, to highlight

    def highlighted(self, scene) -> np.ndarray:
        """The image with a ring around the changed instances."""
        if not self.changed:
            return self.image
        indices = [list(scene.instance_ids).index(raw) for raw in self.changed]
        inside = np.isin(scene.instance, indices)
        ring = _dilate(inside) & ~inside
        ring |= inside & ~_erode(inside)
        out = self.image.copy()
        out[ring] = HIGHLIGHT
        return out


def _erode(mask: np.ndarray) -> np.ndarray:
    return ~_dilate(~mask)


class Session:
    """Operations of one tab over ``synth``; ``local`` edits change only the
    edited instances (and a 2-pixel feather) unless the caller asks otherwise."""

    def __init__(self, synth, scene, seed: int = 0, notes=(), raw_label=None):
        self.synth = synth
        self.scene = scene
        self.raw_label = raw_label  # the dataset's label values of scene.label, for the download
        self.next_seed = int(seed) + 1
        self.styles = synth.draw_styles(scene, int(seed))
        self.reference = None  # (scene, photo uint8 at the model's size)
        self.reference_source = None  # raw id clicked on the reference, waiting for a target
        self.kept = {}  # "A"/"B" -> Styles, the interpolation's ends
        self.notes = list(notes)
        self.raw = None  # the generator's image [3, H, W] of self.shown
        self.shown = None
        self.image = None
        self.changed = ()

    def _seed(self) -> int:
        self.next_seed += 1
        return self.next_seed - 1

    def _edits(self) -> int:
        return len(self.styles.chain()) - 1

    def _local(self, local: bool) -> bool:
        if local and self._edits() >= MAX_EDITS:
            self.notes.append(f"the edit history reached {MAX_EDITS} edits: this edit re-rendered the whole image "
                              "from its current codes (the style file stays short)")
            return False
        return local

    def render(self) -> np.ndarray:
        if self.raw is not None and self.styles.base is not None and self.styles.base is self.shown:
            # a local edit of what the page shows: one forward pass, composited into it
            self.raw = self.synth.render_edit(self.scene, self.styles, self.raw)
        else:
            self.raw = self.synth.render(self.scene, [self.styles])[0]
        self.shown = self.styles
        self.image = to_uint8_image(self.raw)
        return self.image

    def instance_at(self, scene, x, y) -> int:
        """The raw id of the instance under pixel (x, y) of ``scene``'s map."""
        height, width = scene.instance.shape
        try:
            col, row = int(x), int(y)
        except (TypeError, ValueError, OverflowError):
            raise InadeError(f"({x}, {y}) is not a pixel position") from None
        if not (0 <= col < width and 0 <= row < height):
            raise InadeError(f"({col}, {row}) is outside the {width}x{height} map")
        return int(scene.instance_ids[scene.instance[row, col]])

    def redraw(self, raw_id: int, local: bool = True) -> None:
        self.scene.check_ids([raw_id])
        self.styles = self.synth.resample(self.scene, self.styles, [int(raw_id)], self._seed(),
                                          local=self._local(local))
        self.changed = (int(raw_id),)

    def redraw_class(self, cls: int, local: bool = True) -> None:
        ids = self.scene.ids_of_class(cls)
        self.styles = self.synth.resample(self.scene, self.styles, ids, self._seed(), local=self._local(local))
        self.changed = tuple(ids)

    def new_image_noise(self) -> None:
        self.styles = self.synth.resample_image_noise(self.styles, self._seed())
        self.changed = ()

    def set_reference(self, scene, photo: np.ndarray) -> None:
        self.reference = (scene, resize_image(np.ascontiguousarray(photo), *scene.label.shape))
        self.reference_source = None

    def click_reference(self, x, y) -> str:
        """Per-instance models: remember the reference instance to copy; image-level
        models with an encoder: copy the whole photo's style at once."""
        if self.reference is None:
            raise InadeError("choose a reference photo first")
        if not self.synth.per_instance_styles:
            self.styles = self.synth.copy_image_style(self.styles, self.reference[1])
            self.changed = ()
            return "copied the reference photo's style"
        reference = self.reference[0]
        self.reference_source = self.instance_at(reference, x, y)
        return (f"reference instance {reference.describe(self.reference_source)}: now click the instance "
                "of the image that should take its style")

    def copy_to(self, raw_id: int, local: bool = True) -> None:
        reference, photo = self.reference
        source, self.reference_source = self.reference_source, None
        self.styles = self.synth.copy_style(self.scene, self.styles, reference, photo, [(source, int(raw_id))],
                                            local=self._local(local))
        self.changed = (int(raw_id),)

    def keep(self, slot: str) -> None:
        self.kept[slot] = self.styles

    def interpolate(self, position) -> None:
        """The styles at ``position`` in [0, 1] between the kept styles A and B."""
        if set(self.kept) != {"A", "B"}:
            raise InadeError("keep two styles first: 'Keep as A', change the image, then 'Keep as B'")
        try:
            step = round(float(position) * (INTERPOLATION_STEPS - 1))
        except (TypeError, ValueError, OverflowError):
            raise InadeError(f"the interpolation position must be a number in [0, 1], got {position!r}") from None
        if not 0 <= step < INTERPOLATION_STEPS:
            raise InadeError(f"the interpolation position must be in [0, 1], got {position!r}")
        self.styles = self.synth.interpolate(self.kept["A"], self.kept["B"], INTERPOLATION_STEPS)[step]
        self.changed = ()

    def view(self) -> View:
        scene = self.scene
        image = self.image if self.image is not None else self.render()
        instances = [(int(i), int(c), "don't care" if c == self.synth.label_nc else scene.class_name(int(c)))
                     for i, c in zip(scene.instance_ids, scene.instance_classes)]
        return View(image, colorize_labels(scene.label, self.synth.label_nc + 1), instances,
                    None if self.reference is None else self.reference[1], list(self.notes), self.changed)
