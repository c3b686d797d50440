"""The pipeline calls: label/instance maps in (paths, numpy arrays or PIL
images), images and their style files out.

    synth = Synthesizer.from_pretrained("procedural")
    out = synth("label.png", "instance.png", num=4, seed=0)
    out.images[0].save("a.png"); out.styles[0].save("a.json")
    redrawn = synth.redraw_instances("label.png", "instance.png", "a.json", ids=[2001], num=4, seed=1)

Every call returns a SynthesisOutput: ``images`` (PIL images by default, numpy
HxWx3 uint8 with output_type="np", Paddle float tensors [3, H, W] in [0, 1]
with "pd") and ``styles``, one Styles per image, which reproduce it bit for bit
(``render``, or ``inade sample --styles``).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import InadeError
from .scene import Scene
from .styles import Styles

OUTPUT_TYPES = ("pil", "np", "pd")


@dataclasses.dataclass
class SynthesisOutput:
    images: list
    styles: list
    scene: Scene = dataclasses.field(repr=False)
    raw: np.ndarray = dataclasses.field(repr=False)  # [B, 3, H, W] in [-1, 1], as the generator gives them

    def save(self, out_dir: str, name: str | None = None) -> list[str]:
        """OUT/<name>_<k>.png and its style file OUT/<name>_<k>.json per image
        (name: the label map's file name by default)."""
        from .outputs import write_results

        scene = dataclasses.replace(self.scene, name=name) if name else self.scene
        return write_results(out_dir, scene, self.raw, self.styles)


def convert_images(raw: np.ndarray, output_type: str) -> list:
    from ..visuals import to_uint8_image

    if output_type == "pd":
        import paddle

        return [paddle.to_tensor((image + 1.0) / 2.0) for image in raw]
    pictures = [to_uint8_image(image) for image in raw]
    if output_type == "np":
        return pictures
    from PIL import Image

    return [Image.fromarray(picture) for picture in pictures]


def _map(value, what: str):
    """A path, numpy array or PIL image -> what load_scene takes (path or array)."""
    if value is None or isinstance(value, (str, np.ndarray)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        Image = None
    if Image is not None and isinstance(value, Image.Image):
        if value.mode in ("RGB", "RGBA"):
            raise InadeError(f"the {what} map is a colour (RGB) image; it must hold one class or instance id per pixel")
        return np.asarray(value)
    raise InadeError(f"the {what} map must be a file path, a numpy array or a PIL image, not {type(value).__name__}")


class SynthesisPipeline:
    """The pipeline calls of Synthesizer (a mix-in over its style-code operations)."""

    def _check_output_type(self, output_type: str) -> None:
        if output_type not in OUTPUT_TYPES:
            raise InadeError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")

    def _scene_of(self, label, instance) -> Scene:
        if isinstance(label, Scene):
            return label
        return self.scene(_map(label, "label"), _map(instance, "instance"))

    def _styles_of(self, styles) -> Styles:
        if isinstance(styles, Styles):
            return styles
        if isinstance(styles, (str, os.PathLike)):
            return Styles.load(os.fspath(styles), self.class_names)
        raise InadeError(f"styles must be a Styles or a style file path, not {type(styles).__name__}")

    def _output(self, scene: Scene, styles: list, output_type: str) -> SynthesisOutput:
        raw = self.render(scene, styles)
        return SynthesisOutput(convert_images(raw, output_type), styles, scene, raw)

    @staticmethod
    def _seeds(num: int, seed, generator) -> list[int]:
        """num seeds: seed, seed+1, ...; drawn from ``generator`` (a
        numpy.random.Generator); fresh random ones when both are None."""
        if num < 1:
            raise InadeError(f"num must be at least 1, got {num}")
        if seed is not None and generator is not None:
            raise InadeError("give a seed or a generator, not both")
        if seed is not None:
            return [int(seed) + k for k in range(num)]
        if generator is None:
            generator = np.random.default_rng()
        elif not isinstance(generator, np.random.Generator):
            raise InadeError(f"generator must be a numpy.random.Generator, not {type(generator).__name__}")
        return [int(s) for s in generator.integers(0, 2**31, size=num)]

    def __call__(self, label, instance=None, num: int = 1, seed: int | None = None, generator=None,
                 temperature: float = 1.0, output_type: str = "pil") -> SynthesisOutput:
        """``num`` images of one label map (+ instance map; without it each
        class region is one instance), styles from the prior scaled by
        ``temperature`` (1: the paper's; lower: less diverse, closer to the data)."""
        self._check_output_type(output_type)
        scene = self._scene_of(label, instance)
        styles = [self.draw_styles(scene, s, temperature) for s in self._seeds(num, seed, generator)]
        return self._output(scene, styles, output_type)

    def redraw_instances(self, label, instance, styles, ids, num: int = 1, seed: int | None = None, generator=None,
                         temperature: float = 1.0, local: bool = True, output_type: str = "pil") -> SynthesisOutput:
        """``num`` redraws of the instances ``ids`` (raw ids) of the image of
        ``styles`` (a Styles or style file); only they change (``local``, with
        a feather of 2 pixels) unless local=False re-renders the whole image."""
        self._check_output_type(output_type)
        scene, base = self._scene_of(label, instance), self._styles_of(styles)
        out = [self.resample(scene, base, ids, s, temperature, local) for s in self._seeds(num, seed, generator)]
        return self._output(scene, out, output_type)

    def redraw_class(self, label, instance, styles, cls, num: int = 1, seed: int | None = None, generator=None,
                     temperature: float = 1.0, local: bool = True, output_type: str = "pil") -> SynthesisOutput:
        """As redraw_instances, for every instance of class ``cls`` (name or id)."""
        scene = self._scene_of(label, instance)
        return self.redraw_instances(scene, None, styles, scene.ids_of_class(cls), num, seed, generator,
                                     temperature, local, output_type)

    def copy_reference_style(self, label, instance, styles, photo, photo_label, photo_instance, pairs,
                             seed: int | None = None, local: bool = True, output_type: str = "pil") -> SynthesisOutput:
        """Target instances take the encoded style of reference instances of a
        photo: pairs [(photo's instance id, target id)]; seed None: the
        encoded mean, else a draw from the encoded distribution."""
        self._check_output_type(output_type)
        scene, base = self._scene_of(label, instance), self._styles_of(styles)
        reference = self._scene_of(photo_label, photo_instance)
        out = self.copy_style(scene, base, reference, _map(photo, "photo"), pairs, seed, local)
        return self._output(scene, [out], output_type)

    def reconstruct_photo(self, label, instance, photo, seed: int | None = None, refine_steps: int = 0,
                          output_type: str = "pil") -> SynthesisOutput:
        """Every instance takes the style encoded from its own photo (its mean
        when seed is None); ``refine_steps`` then refines the codes towards it."""
        self._check_output_type(output_type)
        scene = self._scene_of(label, instance)
        out = self.reconstruct(scene, _map(photo, "photo"), None, seed, refine_steps)
        return self._output(scene, [out], output_type)

    def interpolate_styles(self, label, instance, start, end, steps: int, ids=None,
                           output_type: str = "pil") -> SynthesisOutput:
        """``steps`` images from the style ``start`` to ``end`` (Styles or
        files); with ``ids`` only those instances move."""
        self._check_output_type(output_type)
        scene = self._scene_of(label, instance)
        path = self.interpolate(self._styles_of(start), self._styles_of(end), steps, ids)
        return self._output(scene, path, output_type)
