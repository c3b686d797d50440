"""The synthesis model and its style-code operations: many images from one
label map, with control per instance.

The pipeline calls (files or arrays in, images out) are in .pipeline:

    synth = Synthesizer.from_pretrained("procedural")
    out = synth("label.png", "instance.png", num=4, seed=0)

The operations here work on a Scene and Styles (codes) and return Styles:

    scene = synth.scene("label.png", "instance.png")
    styles = synth.draw_styles(scene, seed=0)
    redrawn = synth.resample(scene, styles, ids=[2001], seed=5)   # local by default
    image = synth.render(scene, [redrawn])[0]
"""
from __future__ import annotations

import os
import zlib

import numpy as np
import paddle

from ..checkpoints.native import checkpoint_path, load_checkpoint
from ..config import Config, from_dict
from ..data.classes import dataset_class_names
from ..data.positional import dataset_positional_maps
from ..data.readers import DEFAULT_MAX_PIXELS
from ..data.semantics import instance_onehot, semantic_input
from ..errors import InadeError
from ..networks.build import build_encoder, build_generator
from ..networks.noise import remap_noise
from ..networks.spectral import fold_spectral_norm
from ..resources import model_path
from .devices import resolve_place
from .local import composite, edit_alpha
from .pipeline import SynthesisPipeline
from .scene import Scene, load_image, load_scene
from .styles import Styles


# The model trained on the built-in procedural data, shipped with the repository.
DEFAULT_MODEL = model_path("procedural")
SHIPPED_MODELS = ("procedural",)  # names from_pretrained resolves through inade.resources


def check_temperature(temperature) -> float:
    if not isinstance(temperature, (int, float, np.floating)) or not np.isfinite(temperature) or temperature < 0:
        raise InadeError(f"temperature must be a number >= 0, got {temperature!r}")
    return float(temperature)


class Synthesizer(SynthesisPipeline):
    def __init__(self, generator, encoder, config: Config, label_nc: int, contain_dontcare: bool, class_names=None,
                 place=None):
        self.place = place if place is not None else resolve_place(None)
        self.generator = generator.eval()
        self.encoder = encoder.eval() if encoder is not None else None
        self.config = config
        self.label_nc = label_nc
        self.contain_dontcare = contain_dontcare
        self.class_names = class_names
        self.size = generator.output_size

    @classmethod
    def from_pretrained(cls, name_or_path: str = "procedural", device: str | None = None) -> "Synthesizer":
        """A model by name (``procedural``: the shipped model of the procedural
        data), run folder (its latest checkpoint) or checkpoint file, on
        ``device`` ("cpu", "gpu", "gpu:1"; by default Paddle's current device)."""
        place = resolve_place(device)
        # an existing file or folder first, as with other libraries' local paths
        path = model_path(name_or_path) if name_or_path in SHIPPED_MODELS and not os.path.exists(name_or_path) else name_or_path
        state = load_checkpoint(checkpoint_path(path))
        config = from_dict(Config, state["config"])
        classes = state["classes"]
        num_classes = classes["label_nc"] + (1 if classes["contain_dontcare"] else 0)
        generator = build_generator(config.model, num_classes, config.data.crop_size, config.data.aspect_ratio)
        generator.set_state_dict(state["generator"])
        encoder = build_encoder(config.model, config.data.crop_size) if state.get("encoder") is not None else None
        if encoder is not None:
            encoder.set_state_dict(state["encoder"])
        names = dataset_class_names(config.data, classes["label_nc"])
        # Sampling only: bake the spectral-norm division into the weights once instead
        # of at every forward (the same weights, bit for bit; docs/performance_history.md).
        generator = fold_spectral_norm(generator.eval())
        encoder = fold_spectral_norm(encoder.eval()) if encoder is not None else None
        generator.to(device=place)
        if encoder is not None:
            encoder.to(device=place)
        return cls(generator, encoder, config, classes["label_nc"], classes["contain_dontcare"], names, place)

    @classmethod
    def load(cls, path: str | None = None) -> "Synthesizer":
        """Alias of ``from_pretrained(path or "procedural")``."""
        return cls.from_pretrained(path or "procedural")

    def _tensor(self, array) -> paddle.Tensor:
        return paddle.to_tensor(array, place=self.place)

    # --- inputs ---------------------------------------------------------
    def scene(self, label, instance=None, name=None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Scene:
        return load_scene(label, instance, self.size, self.config.data, self.label_nc, self.contain_dontcare,
                          self.class_names, name, max_pixels)

    def _tensors(self, scene: Scene, batch: int):
        label = self._tensor(np.repeat(scene.label[None, None], batch, 0))
        instance = self._tensor(np.repeat(scene.instance[None, None], batch, 0))
        semantics = semantic_input(label, instance, self.label_nc, self.contain_dontcare, self.generator.instance_edges)
        return semantics, instance_onehot(instance, len(scene.instance_ids))

    def _positional(self, scene: Scene):
        if not self.generator.positional:
            return None
        maps = dataset_positional_maps(scene.label[None, None], self.config.data, self.label_nc, self.contain_dontcare)
        return self._tensor(maps)

    # --- styles ---------------------------------------------------------
    def _code(self, seed: int, raw_id: int) -> np.ndarray:
        # One generator per (seed, instance): an instance's code does not depend on the others.
        return np.random.default_rng([seed, 0, int(raw_id)]).standard_normal((2, self.generator.noise_nc)).astype(np.float32)

    def _redraw_code(self, seed: int, raw_id: int, current: np.ndarray) -> np.ndarray:
        # A redraw's stream depends on the code it replaces: it never gives back
        # its input, not even with the seed that input was drawn with.
        fingerprint = zlib.crc32(np.ascontiguousarray(current, dtype=np.float32).tobytes())
        return np.random.default_rng([seed, 2, int(raw_id), fingerprint]).standard_normal((2, self.generator.noise_nc)).astype(np.float32)

    def _image_code(self, seed: int) -> np.ndarray:
        return np.random.default_rng([seed, 1]).standard_normal(self.generator.z_dim).astype(np.float32)

    @property
    def per_instance_styles(self) -> bool:
        """INADE draws a style per instance; SPADE and CLADE have one image-level z."""
        return self.generator.per_instance_styles

    @property
    def has_image_encoder(self) -> bool:
        """Whether photos give image-level styles (SPADE and CLADE trained with GauGAN's encoder)."""
        return self.encoder is not None and not self.encoder.reads_instances

    def _require_instance_styles(self, operation: str) -> None:
        if not self.per_instance_styles:
            raise InadeError(
                f"{operation} needs per-instance styles, which this {self.generator.norm_kind.name.upper()} model does not "
                "have: its style is one image-level code (use resample_image_noise / copy_image_style, "
                "or --resample-noise / --copy-image on the command line)"
            )

    def draw_styles(self, scene: Scene, seed: int, temperature: float = 1.0) -> Styles:
        """Codes from the prior N(0, temperature^2 I) (1: the paper's), one per
        instance (and z), each from its own stream of (seed, instance id)."""
        scale = np.float32(check_temperature(temperature))
        z = self._image_code(seed) * scale
        noise = {int(i): self._code(seed, i) * scale for i in scene.instance_ids}
        classes = {int(i): int(c) for i, c in zip(scene.instance_ids, scene.instance_classes)}
        return Styles(z, noise, classes, seed, self.class_names)

    def random_styles(self, scene: Scene, seed: int) -> Styles:
        """Alias of ``draw_styles(scene, seed)``."""
        return self.draw_styles(scene, seed)

    def _noise_tensor(self, scene: Scene, styles_list) -> paddle.Tensor:
        rows = []
        for styles in styles_list:
            missing = [int(i) for i in scene.instance_ids if int(i) not in styles.noise]
            if missing:
                raise InadeError(f"the style file has no code for instance {scene.describe(missing[0])} of {scene.name}")
            rows.append(np.stack([styles.noise[int(i)] for i in scene.instance_ids]))
        return self._tensor(np.stack(rows))  # [B, K, 2, noise_nc]

    # --- operations -------------------------------------------------------
    def _generate(self, scene: Scene, styles: Styles, inputs) -> np.ndarray:
        with paddle.no_grad():
            z = self._tensor(styles.z[None])
            return self.generator(*inputs[:2], self._noise_tensor(scene, [styles]), z, inputs[2]).numpy()[0]

    def render(self, scene: Scene, styles_list) -> np.ndarray:
        """Images [B, 3, H, W] in [-1, 1], one per Styles; a local edit is
        composited into the image of the styles it edited (rendered once per call).

        Each image is generated on its own: convolution kernels may pick other
        algorithms for other batch sizes, and an image must be the same bit
        for bit whatever it was rendered with."""
        inputs = (*self._tensors(scene, 1), self._positional(scene))
        rendered = {}  # id(styles) -> image, within this call
        images = []
        for styles in styles_list:
            chain = []
            for link in styles.chain():
                if id(link) in rendered:
                    break
                chain.append(link)
            for link in reversed(chain):
                image = self._generate(scene, link, inputs)
                if link.base is not None:
                    image = composite(rendered[id(link.base)], image, edit_alpha(scene, link.edited))
                rendered[id(link)] = image
            images.append(rendered[id(styles)])
        return np.stack(images)

    def render_edit(self, scene: Scene, styles: Styles, base_image: np.ndarray) -> np.ndarray:
        """The image [3, H, W] of ``styles``, a local edit whose base renders as
        ``base_image`` (an editor's current image): one forward pass."""
        image = self._generate(scene, styles, (*self._tensors(scene, 1), self._positional(scene)))
        return image if styles.base is None else composite(base_image, image, edit_alpha(scene, styles.edited))

    def sample(self, scene: Scene, num: int, seed: int = 0):
        """Alias of ``synth(scene, num=num, seed=seed)`` in the form (images
        [num, 3, H, W] in [-1, 1], styles), seeds seed, seed+1, ..."""
        styles = [self.draw_styles(scene, seed + k) for k in range(num)]
        return self.render(scene, styles), styles

    def resample(self, scene: Scene, styles: Styles, ids, seed: int, temperature: float = 1.0,
                 local: bool = True) -> Styles:
        """Redraw the listed instances' codes (never to their current ones);
        everything else stays. ``local``: the image changes only on those
        instances and a feather of EDIT_FEATHER pixels around them (the
        rendering is composited into the image of ``styles``); False re-renders
        the whole image, as the paper does."""
        self._require_instance_styles("resampling instances")
        scene.check_ids(ids)
        scale = np.float32(check_temperature(temperature))
        out = styles.copy()
        for raw_id in ids:
            out.noise[int(raw_id)] = self._redraw_code(seed, raw_id, styles.noise[int(raw_id)]) * scale
        return out.edit_of(styles, ids) if local else out

    def resample_class(self, scene: Scene, styles: Styles, cls_or_name, seed: int, temperature: float = 1.0,
                       local: bool = True) -> Styles:
        return self.resample(scene, styles, scene.ids_of_class(cls_or_name), seed, temperature, local)

    def resample_image_noise(self, styles: Styles, seed: int) -> Styles:
        """A new image-level code z; every instance keeps its code."""
        if not self.generator.use_z:
            raise InadeError("this model takes no image noise (trained without its image encoder): "
                             "its output depends on the label map alone")
        out = styles.copy()
        out.z = self._image_code(seed)
        return out

    def encode_image(self, image):
        """The image-level style distribution of a photo (SPADE/CLADE with
        GauGAN's encoder): (mu [z_dim], logvar [z_dim])."""
        if not self.has_image_encoder:
            raise InadeError("copying an image-level style needs a SPADE or CLADE model trained with its image "
                             "encoder; INADE models copy styles per instance (copy_style / --copy)")
        photo = self._tensor(load_image(image, self.size)[None])
        with paddle.no_grad():
            mu, logvar = (t.numpy()[0] for t in self.encoder(photo))
        return mu, logvar

    def copy_image_style(self, styles: Styles, reference_image, seed=None) -> Styles:
        """z from the reference photo's encoded distribution (its mean when seed is None)."""
        mu, logvar = self.encode_image(reference_image)
        out = styles.copy()
        out.z = mu if seed is None else (mu + np.exp(0.5 * logvar) * self._image_code(seed)).astype(np.float32)
        return out

    def encode(self, scene: Scene, image) -> dict:
        """Per-instance style distributions of a photo of ``scene``:
        raw id -> (mu [2, nc], logvar [2, nc])."""
        self._require_instance_styles("encoding instance styles")
        if self.encoder is None:
            raise InadeError("this model has no style encoder (model.use_encoder is false)")
        photo = self._tensor(load_image(image, self.size)[None])
        _, instances = self._tensors(scene, 1)
        with paddle.no_grad():
            scale_mu, scale_logvar, bias_mu, bias_logvar = (t.numpy()[0] for t in self.encoder(photo, instances))
        return {
            int(raw): (np.stack([scale_mu[k], bias_mu[k]]), np.stack([scale_logvar[k], bias_logvar[k]]))
            for k, raw in enumerate(scene.instance_ids)
        }

    def _from_distribution(self, mu, logvar, seed, raw_id):
        if seed is None:
            return mu.astype(np.float32)
        eps = self._tensor(self._code(seed, raw_id)[None, None])
        stats = [self._tensor(a[None, None]) for a in (mu[0], logvar[0], mu[1], logvar[1])]
        return remap_noise(eps, *stats).numpy()[0, 0]

    def copy_style(self, scene: Scene, styles: Styles, reference: Scene, reference_image, pairs, seed=None,
                   local: bool = True) -> Styles:
        """Give each target instance the style distribution of a reference
        instance: pairs [(reference id, target id)]; seed None takes its mean.
        ``local`` as in ``resample``."""
        reference.check_ids([src for src, _ in pairs])
        scene.check_ids([dst for _, dst in pairs])
        for src, dst in pairs:
            if reference.class_of(src) != scene.class_of(dst):
                raise InadeError(f"cannot copy reference instance {reference.describe(src)} onto "
                                 f"{scene.describe(dst)}: the classes differ")
        encoded = self.encode(reference, reference_image)
        out = styles.copy()
        for src, dst in pairs:
            out.noise[int(dst)] = self._from_distribution(*encoded[int(src)], seed, dst)
        return out.edit_of(styles, [dst for _, dst in pairs]) if local else out

    def reconstruct(self, scene: Scene, image, styles: Styles | None = None, seed=None, refine_steps: int = 0) -> Styles:
        """Every instance takes the style encoded from its own photo (SPADE and
        CLADE: the image takes its photo's image-level style). ``refine_steps``
        > 0 then moves the codes by that many gradient steps towards the photo
        (INADE only; inade.synthesis.refine)."""
        from .refine import refine_styles

        if not self.per_instance_styles:
            out = self.copy_image_style(styles or self.random_styles(scene, 0), image, seed)
        else:
            out = (styles or self.random_styles(scene, 0)).copy()
            for raw_id, (mu, logvar) in self.encode(scene, image).items():
                out.noise[raw_id] = self._from_distribution(mu, logvar, seed, raw_id)
        return refine_styles(self, scene, image, out, refine_steps)  # SPADE/CLADE: refuses steps > 0

    def interpolate(self, a: Styles, b: Styles, steps: int, ids=None) -> list[Styles]:
        """``steps`` styles from a to b (inclusive); with ``ids`` only those
        instances move, the rest (and z) stay as in a."""
        if steps < 2:
            raise InadeError(f"interpolation needs at least 2 steps, got {steps}")
        moving = set(a.noise) if ids is None else {int(i) for i in ids}
        unknown = [i for i in moving if i not in a.noise or i not in b.noise]
        if unknown:
            raise InadeError(f"instance {unknown[0]} is not in both style files")
        out = []
        for t in np.linspace(0.0, 1.0, steps):
            styles = a.copy()
            for raw_id in moving:
                styles.noise[raw_id] = ((1 - t) * a.noise[raw_id] + t * b.noise[raw_id]).astype(np.float32)
            if ids is None:
                styles.z = ((1 - t) * a.z + t * b.z).astype(np.float32)
            out.append(styles)
        return out
