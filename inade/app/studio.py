"""What the web demo can do, without a web framework: the sessions of one
server over one model, with bounds on what a request may make it hold.

Every method takes plain values (file paths of uploads, numbers, the image
editor's arrays) and a session key, and returns a View or raises InadeError
with the message the page shows."""
from __future__ import annotations

import collections
import os
import shutil
import tempfile
import threading
import warnings
import weakref

import numpy as np
from PIL import Image

from ..data.instances import instances_from_components
from ..data.readers import LIMIT_SETTINGS, read_index_map, read_rgb
from ..data.transforms import resize_nearest_map
from ..errors import InadeError
from ..synthesis.scene import label_rules
from ..visuals import to_uint8_image
from . import painting
from .session import Session, Shown, View

MAX_UPLOAD_BYTES = 10 * 2**20  # one uploaded file, refused before it is read
MAX_UPLOAD_PIXELS = 4_000_000  # 2000x2000: refused from the file's header, before decoding
MAX_SESSIONS = 32  # the oldest tab's state goes first
MAX_INSTANCES = 256  # instances of one map: the generator's input grows with them


class Studio:
    """The sessions of one server and the model they share; one operation at a
    time holds the model (the web framework's queue decides how many wait)."""

    def __init__(self, synth, examples=None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 max_pixels: int = MAX_UPLOAD_PIXELS, max_sessions: int = MAX_SESSIONS):
        self.synth = synth
        self.examples = examples if examples is not None else builtin_examples(synth)
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self.max_sessions = max_sessions
        self.sessions: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self.lock = threading.Lock()
        self.colours = painting.class_colours(self.paintable_classes())
        self.downloads = tempfile.mkdtemp(prefix="inade-app-")
        weakref.finalize(self, shutil.rmtree, self.downloads, True)  # the sessions' download files go with the studio

    # --- what the page offers -----------------------------------------------
    def paintable_classes(self) -> int:
        """Class ids the palette offers: don't care (id label_nc) only when the
        dataset has a raw label value to write it as."""
        _, dontcare_value = label_rules(self.synth.config.data, self.synth.label_nc, self.synth.contain_dontcare)
        return self.synth.label_nc + (1 if self.synth.contain_dontcare and dontcare_value is not None else 0)

    def class_name(self, cls: int) -> str:
        names = self.synth.class_names
        if cls == self.synth.label_nc:
            return "don't care"
        return names[cls] if names and cls < len(names) else f"class {cls}"

    def palette(self) -> list[tuple[int, str, str]]:
        """[(class id, name, "#rrggbb")] of the paintable classes."""
        return [(c, self.class_name(c), painting.hex_colour(self.colours[c])) for c in range(len(self.colours))]

    @property
    def canvas_scale(self) -> int:
        """The painting canvas is the model's size times this, at least ~256
        pixels across: small enough maps are painted enlarged."""
        return max(1, round(256 / max(self.synth.size)))

    @property
    def per_instance(self) -> bool:
        return self.synth.per_instance_styles

    @property
    def image_encoder(self) -> bool:
        return not self.synth.per_instance_styles and self.synth.encoder is not None

    # --- reading what arrives -------------------------------------------------
    def _upload(self, path, what: str, reader):
        """An uploaded file's array; its size checked before it is read and its
        pixel count (read_index_map/read_rgb) before it is decoded."""
        if not path:
            raise InadeError(f"no {what} file was sent")
        path = os.fspath(path)
        name = os.path.basename(path)[:80] or what
        try:
            size = os.path.getsize(path)
        except OSError:
            raise InadeError(f"{name}: the upload did not arrive; send it again") from None
        if size > self.max_upload_bytes:
            raise InadeError(f"{name} is {size / 2**20:.1f} MB; the limit is {self.max_upload_bytes / 2**20:.0f} MB")
        try:
            return reader(path, self.max_pixels) if reader is read_rgb else reader(path, what, self.max_pixels)
        except InadeError as error:  # the page's own limit, not the command line's option, and no server paths
            message = str(error).replace(path, name).replace(f"({LIMIT_SETTINGS})", "(the page's limit)")
            raise InadeError(message) from None

    def _scene(self, label, instance=None, name: str = "label map"):
        """(scene at the model's size, resized with a note when the map is not;
        its notes); at most MAX_INSTANCES instances. The scene keeps the raw
        label values at its size, for the label map the page offers to download."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scene = self.synth.scene(label, instance, name=name)
        if len(scene.instance_ids) > MAX_INSTANCES:
            raise InadeError(f"{name} has {len(scene.instance_ids)} instances at the model's size; "
                             f"the page takes at most {MAX_INSTANCES}")
        return Shown(scene, resize_nearest_map(np.asarray(label), *scene.label.shape)), [str(w.message) for w in caught]

    def example_scene(self, index):
        try:
            index = int(index)
        except (TypeError, ValueError, OverflowError):
            raise InadeError(f"choose a built-in label map (got {index!r})") from None
        if not 0 <= index < len(self.examples):
            raise InadeError(f"built-in label map {index} does not exist; there are {len(self.examples)}")
        name, (label, instance, photo) = self.examples[index]
        scene, notes = self._scene(label, instance, name)
        return scene, photo, notes

    def uploaded_scene(self, label_path, instance_path=None):
        label = self._upload(label_path, "label", read_index_map)
        instance = self._upload(instance_path, "instance", read_index_map) if instance_path else None
        if instance is not None and instance.shape != label.shape:
            raise InadeError(f"the instance map is {instance.shape[1]}x{instance.shape[0]}, "
                             f"its label map {label.shape[1]}x{label.shape[0]}: they must match")
        return self._scene(label, instance, os.path.basename(os.fspath(label_path))[:80])

    def painted_scene(self, editor_value, fill_class: int = 0):
        """A painted map: class ids written as the dataset's raw label values (so
        that it goes through the checks of a file), one instance per separate
        region of a class, which is what a painter means by two blobs."""
        classes = painting.painted_classes(editor_value, self.colours, fill_class)
        if classes.shape != tuple(self.synth.size):  # the canvas is painted larger than the model's maps
            classes = resize_nearest_map(classes, *self.synth.size)
        offset, dontcare_value = label_rules(self.synth.config.data, self.synth.label_nc, self.synth.contain_dontcare)
        raw = np.where(classes == self.synth.label_nc, dontcare_value if dontcare_value is not None else -1,
                       classes + offset)
        return self._scene(raw, instances_from_components(classes), "painted map")

    def reference_scene(self, example=None, photo_path=None, label_path=None, instance_path=None):
        """(Shown, photo, notes) of a built-in example or of an uploaded photo with its maps."""
        if example is not None:
            scene, photo, notes = self.example_scene(example)
            return scene, photo, notes
        photo = self._upload(photo_path, "photo", read_rgb)
        scene, notes = self.uploaded_scene(label_path, instance_path)
        return scene, photo, notes

    # --- sessions ---------------------------------------------------------------
    def session(self, key) -> Session:
        with self.lock:
            if key not in self.sessions:
                raise InadeError("this page's session has expired: load a label map again")
            self.sessions.move_to_end(key)
            return self.sessions[key]

    def open(self, key, shown: Shown, notes=(), seed=0) -> View:
        """A new session for tab ``key`` (replacing its previous one) on ``shown``."""
        try:
            seed = int(seed)
        except (TypeError, ValueError, OverflowError):
            raise InadeError(f"the seed must be a whole number, got {seed!r}") from None
        if not 0 <= seed < 2**31:
            raise InadeError(f"the seed must be in 0..{2**31 - 1}, got {seed}")
        with self.lock:
            session = Session(self.synth, shown.scene, seed, notes, shown.raw_label)
            session.render()
            self.sessions[key] = session
            self.sessions.move_to_end(key)
            while len(self.sessions) > self.max_sessions:
                self._forget(next(iter(self.sessions)))
        return session.view()

    def close(self, key) -> None:
        with self.lock:
            self._forget(key)

    def _forget(self, key) -> None:
        self.sessions.pop(key, None)
        shutil.rmtree(self._folder(key), ignore_errors=True)

    def act(self, key, operation, *args, render: bool = True) -> View:
        """``operation(session, *args)`` under the model's lock, then the new image."""
        session = self.session(key)
        with self.lock:
            session.notes, session.changed = [], ()
            result = operation(session, *args)
            if result:
                session.notes.append(result)
            if render:
                session.render()
        return session.view()

    def click_image(self, key, x, y, local: bool = True) -> View:
        """Redraw the clicked instance, or give it the style of the reference
        instance clicked before."""
        session = self.session(key)
        raw_id = session.instance_at(session.scene, x, y)
        if session.reference_source is not None:
            return self.act(key, Session.copy_to, raw_id, local)
        return self.act(key, Session.redraw, raw_id, local)

    def click_reference(self, key, x, y) -> View:
        session = self.session(key)
        return self.act(key, Session.click_reference, x, y, render=not session.synth.per_instance_styles)

    def set_reference(self, key, shown: Shown, photo, notes) -> View:
        def choose(session):
            session.set_reference(shown.scene, photo)
            session.notes.extend(notes)
        return self.act(key, choose, render=False)

    # --- downloads ----------------------------------------------------------------
    def _folder(self, key) -> str:
        return os.path.join(self.downloads, "".join(c for c in str(key) if c.isalnum())[:64] or "session")

    def download_files(self, key, maps: bool = True) -> tuple:
        """(image PNG, style file[, label map, instance map]) of the session's
        current image, which ``inade sample --label L --instance I --styles S``
        reproduces bit for bit. The maps change only with the scene: ``maps``
        False leaves them out."""
        session = self.session(key)
        folder = self._folder(key)
        os.makedirs(folder, exist_ok=True)
        paths = [os.path.join(folder, name) for name in ("inade.png", "inade_styles.json", "label.png", "instance.png")]
        scene = session.scene
        with self.lock:  # files of a temporary folder of ours: plain writes, no fsync per request
            Image.fromarray(session.image).save(paths[0], format="PNG")
            with open(paths[1], "w", encoding="utf-8") as f:
                f.write(session.styles.to_json())
            if maps:
                _save_ids(paths[2], session.raw_label)
                _save_ids(paths[3], scene.instance_ids[scene.instance])
        return tuple(paths if maps else paths[:2])


def _save_ids(path: str, ids: np.ndarray) -> None:
    """An index map as an 8-bit PNG, or 16-bit when its ids need it."""
    if ids.min() < 0 or ids.max() >= 2**16:
        raise InadeError(f"ids {int(ids.min())}..{int(ids.max())} do not fit a 16-bit PNG")
    Image.fromarray(ids.astype(np.uint8 if ids.max() < 256 else np.uint16)).save(path, format="PNG")


def builtin_examples(synth, count: int = 6):
    """Label maps (with their photos) to start from when the model is of the
    procedural data; none otherwise."""
    if synth.config.data.type != "procedural":
        return []
    from ..data.procedural import ProceduralDataset

    dataset = ProceduralDataset(size=synth.size[1], num_samples=count, seed=2024)
    examples = []
    for index in range(count):
        label, raw_instance, _, _ = dataset.layout(index)
        photo = to_uint8_image(dataset.generate(index)["image"])
        examples.append((f"procedural scene {index}", (label, raw_instance, photo)))
    return examples
