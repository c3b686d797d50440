"""What the web page can do, without HTTP: one Session per browser tab, each a
scene with its current styles (and optionally a reference photo)."""
from __future__ import annotations

import base64
import io
import os
import secrets
import tempfile
import threading
import warnings

import numpy as np
from PIL import Image

from ..data.instances import instances_from_components
from ..data.readers import read_index_map, read_rgb
from ..errors import InadeError
from ..synthesis.scene import _label_rules
from ..visuals import colorize_labels, label_palette, to_uint8_image

MAX_SESSIONS = 64


def png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(picture: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode("ascii")


def decode_upload(upload: dict, what: str, reader):
    """An uploaded file {"name", "data": data URL or base64} read by ``reader``
    (read_index_map or read_rgb), with errors naming the uploaded file."""
    if not isinstance(upload, dict) or "data" not in upload:
        raise InadeError(f"no {what} file was sent")
    name = os.path.basename(str(upload.get("name") or what + ".png"))
    data = str(upload["data"])
    try:
        payload = base64.b64decode(data.split(",", 1)[1] if data.startswith("data:") else data, validate=True)
    except (ValueError, IndexError):
        raise InadeError(f"{name}: the upload is not valid base64 data") from None
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(payload)
        try:
            return reader(path) if reader is read_rgb else reader(path, what)
        except InadeError as error:
            raise InadeError(str(error).replace(path, name)) from None


class Session:
    """A scene, its styles and the seeds drawn so far; every operation returns
    the state the page shows. Redraws and copies are local edits (only the
    edited instances and a 2-pixel feather change) unless ``local`` is False."""

    def __init__(self, synth, scene, seed: int = 0, notes=()):
        self.synth = synth
        self.scene = scene
        self.next_seed = seed + 1
        self.styles = synth.draw_styles(scene, seed)
        self.reference = None  # (scene, photo uint8) of the reference photo
        self.notes = list(notes)
        self.image = None
        self.raw = None  # the generator's image [3, H, W] of self.shown
        self.shown = None

    def _seed(self) -> int:
        self.next_seed += 1
        return self.next_seed - 1

    def instance_at(self, scene, x: float, y: float) -> int:
        """The raw id of the instance under (x, y), in the map's pixels."""
        height, width = scene.instance.shape
        col, row = int(x), int(y)
        if not (0 <= col < width and 0 <= row < height):
            raise InadeError(f"({col}, {row}) is outside the {width}x{height} map")
        return int(scene.instance_ids[scene.instance[row, col]])

    def instance_by_id(self, raw_id) -> int:
        self.scene.check_ids([int(raw_id)])
        return int(raw_id)

    def render(self) -> np.ndarray:
        if self.raw is not None and self.styles.base is not None and self.styles.base is self.shown:
            # a local edit of what the page shows: one forward pass, composited into it
            self.raw = self.synth.render_edit(self.scene, self.styles, self.raw)
        else:
            self.raw = self.synth.render(self.scene, [self.styles])[0]
        self.shown = self.styles
        self.image = to_uint8_image(self.raw)
        return self.image

    def resample_at(self, x, y, raw_id=None, local: bool = True) -> int:
        """Redraw the instance under (x, y), or the one named by raw_id (the
        page's instance list)."""
        raw_id = self.instance_by_id(raw_id) if raw_id is not None else self.instance_at(self.scene, x, y)
        self.styles = self.synth.resample(self.scene, self.styles, [raw_id], self._seed(), local=local)
        return raw_id

    def resample_class(self, cls, local: bool = True) -> None:
        self.styles = self.synth.resample_class(self.scene, self.styles, cls, self._seed(), local=local)

    def new_image_noise(self) -> None:
        self.styles = self.synth.resample_image_noise(self.styles, self._seed())

    def set_reference(self, scene, photo: np.ndarray) -> None:
        self.reference = (scene, photo)

    def copy_at(self, ref_x, ref_y, x, y, local: bool = True) -> tuple[int, int]:
        if self.reference is None:
            raise InadeError("choose a reference photo first")
        reference, photo = self.reference
        source = self.instance_at(reference, ref_x, ref_y)
        target = self.instance_at(self.scene, x, y)
        self.styles = self.synth.copy_style(self.scene, self.styles, reference, photo, [(source, target)], local=local)
        return source, target

    def copy_image_at(self) -> None:
        """SPADE/CLADE with GauGAN's encoder: the whole reference photo's style."""
        if self.reference is None:
            raise InadeError("choose a reference photo first")
        self.styles = self.synth.copy_image_style(self.styles, self.reference[1])

    def view(self) -> dict:
        """What the page shows: images as data URLs and the instance list."""
        scene = self.scene
        image = self.image if self.image is not None else self.render()
        state = {
            "image": png_data_url(image),
            "label": png_data_url(colorize_labels(scene.label, self.synth.label_nc)),
            "size": list(scene.label.shape),
            "instances": [{"id": int(i), "class": int(c), "class_name": "don't care" if c == self.synth.label_nc
                           else scene.class_name(int(c))} for i, c in zip(scene.instance_ids, scene.instance_classes)],
            "notes": self.notes,
            "per_instance": self.synth.per_instance_styles,
        }
        if self.reference is not None:
            state["reference"] = png_data_url(self.reference[1])
        return state


class Studio:
    """The sessions of one server and the model they share."""

    def __init__(self, synth, examples=None, max_upload_bytes: int = 20 * 1024 * 1024):
        self.synth = synth
        self.max_upload_bytes = max_upload_bytes
        self.examples = examples if examples is not None else builtin_examples(synth)
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()  # one generator forward at a time

    def paintable_classes(self) -> int:
        """Class ids the palette offers: don't care (id label_nc) only when the
        dataset has a raw label value to write it as."""
        _, dontcare_value = _label_rules(self.synth.config.data, self.synth.label_nc, self.synth.contain_dontcare)
        return self.synth.label_nc + (1 if self.synth.contain_dontcare and dontcare_value is not None else 0)

    def class_label(self, cls: int) -> str:
        names = self.synth.class_names
        if cls == self.synth.label_nc:
            return "don't care"
        return names[cls] if names and cls < len(names) else f"class {cls}"

    def info(self) -> dict:
        count = self.paintable_classes()
        palette = label_palette(self.synth.label_nc + 1)
        return {
            "size": list(self.synth.size),
            "classes": [{"id": c, "name": self.class_label(c), "color": "#%02x%02x%02x" % tuple(palette[c])}
                        for c in range(count)],
            "examples": [name for name, _ in self.examples],
            "per_instance": self.synth.per_instance_styles,
            "image_encoder": not self.synth.per_instance_styles and self.synth.encoder is not None,
            "max_upload_bytes": self.max_upload_bytes,
        }

    def painted_scene(self, painted):
        """A painted map of class ids: written as the dataset's raw label values
        (ADE20K counts from 1, COCO's don't care is 255, ...) so that it goes
        through the same checks as a file, and one instance per connected region
        of a class, which is what a painter means by two separate blobs."""
        if not isinstance(painted, dict):
            raise InadeError("the painted map must be {ids, height, width}")
        ids = np.asarray(painted.get("ids", []), dtype=np.int64)
        height, width = int(painted.get("height", 0)), int(painted.get("width", 0))
        if ids.size != height * width or ids.size == 0:
            raise InadeError(f"the painted map has {ids.size} pixels, not {width}x{height}")
        classes = ids.reshape(height, width)
        count = self.paintable_classes()
        bad = classes[(classes < 0) | (classes >= count)]
        if bad.size:
            raise InadeError(f"the painted map has class {int(bad[0])}; this model has classes 0..{count - 1}")
        offset, dontcare_value = _label_rules(self.synth.config.data, self.synth.label_nc, self.synth.contain_dontcare)
        # (with no raw don't-care value, paintable_classes() kept label_nc out of the map)
        raw = np.where(classes == self.synth.label_nc, dontcare_value if dontcare_value is not None else -1,
                       classes + offset)
        return self.synth.scene(raw, instances_from_components(classes), name="painted map")

    def session(self, token) -> Session:
        if token not in self.sessions:
            raise InadeError("this page's session has expired: load a label map again")
        return self.sessions[token]

    def scene_from(self, request: dict, prefix: str = ""):
        """A scene from an example index, uploaded files, or painted class ids."""
        notes = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if request.get(prefix + "example") is not None:
                index = int(request[prefix + "example"])
                if not 0 <= index < len(self.examples):
                    raise InadeError(f"example {index} does not exist; there are {len(self.examples)}")
                name, (label, instance, photo) = self.examples[index]
                scene = self.synth.scene(label, instance, name=name)
            elif request.get(prefix + "painted") is not None:
                scene, photo = self.painted_scene(request[prefix + "painted"]), None
            else:
                label = decode_upload(request.get(prefix + "label"), "label", read_index_map)
                instance = request.get(prefix + "instance")
                instance = decode_upload(instance, "instance", read_index_map) if instance else None
                name = os.path.basename(str(request[prefix + "label"].get("name") or "label map"))
                scene = self.synth.scene(label, instance, name=name)
                photo = None
        notes += [str(w.message) for w in caught]
        return scene, photo, notes

    def open(self, request: dict) -> tuple[str, dict]:
        scene, _, notes = self.scene_from(request)
        token = secrets.token_hex(8)
        with self.lock:
            session = Session(self.synth, scene, int(request.get("seed", 0)), notes)
            session.render()
            if len(self.sessions) >= MAX_SESSIONS:  # the oldest tab's state goes first
                self.sessions.pop(next(iter(self.sessions)))
            self.sessions[token] = session
        return token, session.view()

    def act(self, token: str, action: str, request: dict) -> dict:
        session = self.session(token)
        local = not request.get("whole_image", False)  # the page's "whole image" box: re-render all, as the paper
        with self.lock:
            if action == "label_ids":  # the current map's class ids, to paint over it
                return {"ids": session.scene.label.ravel().tolist(), "height": int(session.scene.label.shape[0]),
                        "width": int(session.scene.label.shape[1])}
            if action == "resample":
                if request.get("id") is not None:
                    session.resample_at(None, None, request["id"], local)
                else:
                    session.resample_at(request["x"], request["y"], local=local)
            elif action == "resample_class":
                session.resample_class(request["class"], local)
            elif action == "new_noise":
                session.new_image_noise()
            elif action == "reference":
                scene, photo, notes = self.scene_from(request, "reference_")
                if photo is None:
                    photo = decode_upload(request.get("reference_photo"), "photo", read_rgb)
                session.set_reference(scene, photo)
                session.notes = notes
                return session.view()
            elif action == "copy":
                session.copy_at(request["ref_x"], request["ref_y"], request["x"], request["y"], local)
            elif action == "copy_image":
                session.copy_image_at()
            else:
                raise InadeError(f"unknown action {action!r}")
            session.notes = []
            session.render()
        return session.view()


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
