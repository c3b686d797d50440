"""The synthesis API: many images from one label map, with control per instance.

    synth = Synthesizer.load("runs/procedural")
    scene = synth.scene("label.png", "instance.png")
    images, styles = synth.sample(scene, num=8, seed=0)
    styles2 = synth.resample(scene, styles[0], ids=[2001], seed=5)
    image = synth.render(scene, [styles2])[0]
"""
from __future__ import annotations

import os

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
from .scene import Scene, load_image, load_scene
from .styles import Styles


# The model trained on the built-in procedural data, shipped with the repository.
DEFAULT_MODEL = model_path("procedural")
class Synthesizer:
    def __init__(self, generator, encoder, config: Config, label_nc: int, contain_dontcare: bool, class_names=None):
        self.generator = generator.eval()
        self.encoder = encoder.eval() if encoder is not None else None
        self.config = config
        self.label_nc = label_nc
        self.contain_dontcare = contain_dontcare
        self.class_names = class_names
        self.size = generator.output_size

    @classmethod
    def load(cls, path: str | None = None) -> "Synthesizer":
        """From a run folder (its latest checkpoint) or a checkpoint file; by
        default the shipped model of the procedural data."""
        state = load_checkpoint(checkpoint_path(path or DEFAULT_MODEL))
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
        # of at every forward (the same weights, bit for bit; ~12% of a 256x256 forward).
        generator = fold_spectral_norm(generator.eval())
        encoder = fold_spectral_norm(encoder.eval()) if encoder is not None else None
        return cls(generator, encoder, config, classes["label_nc"], classes["contain_dontcare"], names)

    # --- inputs ---------------------------------------------------------
    def scene(self, label, instance=None, name=None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Scene:
        return load_scene(label, instance, self.size, self.config.data, self.label_nc, self.contain_dontcare,
                          self.class_names, name, max_pixels)

    def _tensors(self, scene: Scene, batch: int):
        label = paddle.to_tensor(np.repeat(scene.label[None, None], batch, 0))
        instance = paddle.to_tensor(np.repeat(scene.instance[None, None], batch, 0))
        semantics = semantic_input(label, instance, self.label_nc, self.contain_dontcare, self.generator.instance_edges)
        return semantics, instance_onehot(instance, len(scene.instance_ids))

    def _positional(self, scene: Scene):
        if not self.generator.positional:
            return None
        maps = dataset_positional_maps(scene.label[None, None], self.config.data, self.label_nc, self.contain_dontcare)
        return paddle.to_tensor(maps)

    # --- styles ---------------------------------------------------------
    def _code(self, seed: int, raw_id: int) -> np.ndarray:
        # One generator per (seed, instance): an instance's code does not depend on the others.
        return np.random.default_rng([seed, 0, int(raw_id)]).standard_normal((2, self.generator.noise_nc)).astype(np.float32)

    def _image_code(self, seed: int) -> np.ndarray:
        return np.random.default_rng([seed, 1]).standard_normal(self.generator.z_dim).astype(np.float32)

    @property
    def per_instance_styles(self) -> bool:
        """INADE draws a style per instance; SPADE and CLADE have one image-level z."""
        return self.generator.norm_mode == "inade"

    def _require_instance_styles(self, operation: str) -> None:
        if not self.per_instance_styles:
            raise InadeError(
                f"{operation} needs per-instance styles, which this {self.generator.norm_mode.upper()} model does not "
                "have: its style is one image-level code (use resample_image_noise / copy_image_style, "
                "or --resample-noise / --copy-image on the command line)"
            )

    def random_styles(self, scene: Scene, seed: int) -> Styles:
        z = self._image_code(seed)
        noise = {int(i): self._code(seed, i) for i in scene.instance_ids}
        classes = {int(i): int(c) for i, c in zip(scene.instance_ids, scene.instance_classes)}
        return Styles(z, noise, classes, seed, self.class_names)

    def _noise_tensor(self, scene: Scene, styles_list) -> paddle.Tensor:
        rows = []
        for styles in styles_list:
            missing = [int(i) for i in scene.instance_ids if int(i) not in styles.noise]
            if missing:
                raise InadeError(f"the style file has no code for instance {scene.describe(missing[0])} of {scene.name}")
            rows.append(np.stack([styles.noise[int(i)] for i in scene.instance_ids]))
        return paddle.to_tensor(np.stack(rows))  # [B, K, 2, noise_nc]

    # --- operations -------------------------------------------------------
    def render(self, scene: Scene, styles_list) -> np.ndarray:
        """Images [B, 3, H, W] in [-1, 1], one per Styles.

        Each image is generated on its own: convolution kernels may pick other
        algorithms for other batch sizes, and an image must be the same bit
        for bit whatever it was rendered with."""
        semantics, instances = self._tensors(scene, 1)
        positional = self._positional(scene)
        images = []
        with paddle.no_grad():
            for styles in styles_list:
                z = paddle.to_tensor(styles.z[None])
                noise = self._noise_tensor(scene, [styles])
                images.append(self.generator(semantics, instances, noise, z, positional).numpy()[0])
        return np.stack(images)

    def sample(self, scene: Scene, num: int, seed: int = 0):
        """``num`` diverse images with seeds seed, seed+1, ...: (images, styles)."""
        styles = [self.random_styles(scene, seed + k) for k in range(num)]
        return self.render(scene, styles), styles

    def resample(self, scene: Scene, styles: Styles, ids, seed: int) -> Styles:
        """Redraw the listed instances' codes; everything else stays."""
        self._require_instance_styles("resampling instances")
        scene.check_ids(ids)
        out = styles.copy()
        for raw_id in ids:
            out.noise[int(raw_id)] = self._code(seed, raw_id)
        return out

    def resample_class(self, scene: Scene, styles: Styles, cls_or_name, seed: int) -> Styles:
        return self.resample(scene, styles, scene.ids_of_class(cls_or_name), seed)

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
        if self.per_instance_styles or self.encoder is None:
            raise InadeError("copying an image-level style needs a SPADE or CLADE model trained with its image "
                             "encoder; INADE models copy styles per instance (copy_style / --copy)")
        photo = paddle.to_tensor(load_image(image, self.size)[None])
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
        photo = paddle.to_tensor(load_image(image, self.size)[None])
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
        eps = paddle.to_tensor(self._code(seed, raw_id)[None, None])
        stats = [paddle.to_tensor(a[None, None]) for a in (mu[0], logvar[0], mu[1], logvar[1])]
        return remap_noise(eps, *stats).numpy()[0, 0]

    def copy_style(self, scene: Scene, styles: Styles, reference: Scene, reference_image, pairs, seed=None) -> Styles:
        """Give each target instance the style distribution of a reference
        instance: pairs [(reference id, target id)]; seed None takes its mean."""
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
        return out

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
