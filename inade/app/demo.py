"""The page: a Gradio layout over a Studio. Every event calls one Studio
method; an InadeError (or anything unexpected) becomes a message in the page."""
from __future__ import annotations

import os
import time
import traceback
import warnings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home

import gradio as gr  # noqa: E402
from gradio.themes.utils.fonts import LocalFont  # noqa: E402

from ..errors import InadeError  # noqa: E402
from . import painting  # noqa: E402
from .session import Session  # noqa: E402
from .studio import Studio  # noqa: E402

MODEL_EVENTS = "model"  # the events that run the generator share one concurrency limit
QUEUE_SIZE = 64  # requests waiting beyond this are refused with a message
HIGHLIGHT_SECONDS = 0.8
CSS = """
#image img, #label img, #reference img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
.swatch { display: inline-block; margin: 2px 6px 2px 0; padding: 2px 8px; border-radius: 4px; font-size: 0.9em; }
"""


def _guarded(call):
    """call()'s value; a user's mistake as the page's error message, and an
    unexpected failure as one too (with its traceback on the console)."""
    try:
        return call()
    except InadeError as error:
        raise gr.Error(str(error), print_exception=False) from None
    except Exception as error:
        traceback.print_exc()
        raise gr.Error(f"internal error: {type(error).__name__}: {error}", print_exception=False) from None


def _legend(studio: Studio) -> str:
    """The palette as swatches with names, text coloured to stay readable."""
    items = []
    for cls, name, colour in studio.palette():
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        ink = "#fff" if 0.299 * r + 0.587 * g + 0.114 * b < 128 else "#000"
        items.append(f'<span class="swatch" style="background:{colour};color:{ink}">{cls}: {name}</span>')
    canvas = painting.hex_colour(painting.CANVAS)
    items.append(f'<span class="swatch" style="background:{canvas};border:1px solid #888">unpainted</span>')
    return "<div id='palette'>" + "".join(items) + "</div>"


def build_demo(studio: Studio, concurrency: int = 1) -> gr.Blocks:
    """The page over ``studio``, its queue set: ``concurrency`` generator
    events at a time, QUEUE_SIZE waiting."""
    with warnings.catch_warnings():
        # Gradio 5 announces the parameters Gradio 6 renames (api_name=False becomes
        # api_visibility, ...), which Gradio 5 does not have yet: the extra pins Gradio 5
        warnings.filterwarnings("ignore", ".*Gradio 6", DeprecationWarning)
        return _build(studio, concurrency)


def _build(studio: Studio, concurrency: int) -> gr.Blocks:
    theme = gr.themes.Default(font=[LocalFont("IBM Plex Sans"), "ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=[LocalFont("IBM Plex Mono"), "ui-monospace", "monospace"])
    height, width = studio.synth.size
    scale = studio.canvas_scale
    examples = [(name, index) for index, (name, _) in enumerate(studio.examples)]
    palette = studio.palette()

    with gr.Blocks(title="inade: semantic image synthesis", theme=theme, css=CSS, analytics_enabled=False,
                   delete_cache=(600, 1800)) as demo:
        gr.Markdown("## inade: an image from a label map, each instance with its own style\n"
                    "Choose, upload or paint a label map. **Click an instance of the image** to redraw it; "
                    "pick a reference photo, click one of its instances, then one of the image to copy that style.")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                image = gr.Image(label="Generated image: click an instance", format="png", interactive=False,
                                 show_download_button=False, height=360, elem_id="image")
                with gr.Row():
                    download_image = gr.DownloadButton("Download image (PNG)", size="sm")
                    download_styles = gr.DownloadButton("Download style file (JSON)", size="sm")
                    download_label = gr.DownloadButton("Label map", size="sm")
                    download_instance = gr.DownloadButton("Instance map", size="sm")
                whole = gr.Checkbox(False, label="Re-render the whole image (as the paper) instead of a local edit")
                with gr.Row():
                    instance = gr.Dropdown([], label="Instance", allow_custom_value=True, elem_id="instance")
                    redraw = gr.Button("Redraw this instance", size="sm")
                with gr.Row():
                    cls = gr.Dropdown([], label="Class", allow_custom_value=True)
                    redraw_class = gr.Button("Redraw this class", size="sm")
                noise = gr.Button("New image noise (the image-level code z)", size="sm",
                                  visible=studio.synth.generator.use_z)
                with gr.Row():
                    keep_a = gr.Button("Keep as style A", size="sm")
                    keep_b = gr.Button("Keep as style B", size="sm")
                between = gr.Slider(0, 1, value=0, step=0.1, label="Interpolate from style A to style B")
            with gr.Column(scale=2):
                label_view = gr.Image(label="Label map", format="png", interactive=False, height=200,
                                      show_download_button=False, elem_id="label")
                with gr.Tab("Built-in"):
                    example = gr.Dropdown(examples, value=0 if examples else None, label="Label map")
                    # precision None: the studio checks the value (Gradio would fail on int(inf))
                    seed = gr.Number(0, label="Seed", minimum=0, step=1)
                    load_example = gr.Button("Generate", variant="primary")
                with gr.Tab("Upload"):
                    label_file = gr.File(label="Label map (index PNG)", file_types=["image"], type="filepath")
                    instance_file = gr.File(label="Instance map (optional)", file_types=["image"], type="filepath")
                    load_upload = gr.Button("Generate from the files", variant="primary")
                with gr.Tab("Paint"):
                    gr.HTML(_legend(studio))
                    editor = gr.ImageEditor(
                        None, type="numpy", format="png",
                        # no background value: Gradio 5's editor loses its toolbar when it starts with one
                        image_mode="RGBA", sources=(), transforms=(), canvas_size=(width * scale, height * scale),
                        layers=False,
                        interactive=True, show_download_button=False,
                        brush=gr.Brush(colors=[colour for _, _, colour in palette], color_mode="fixed",
                                       default_size=max(1, width * scale // 16)),
                        label="Each separate blob of a class is its own instance", elem_id="editor")
                    fill = gr.Dropdown([(name, c) for c, name, _ in palette], value=0, label="Unpainted pixels are")
                    with gr.Row():
                        paint_over = gr.Button("Paint over the current map", size="sm")
                        load_painted = gr.Button("Generate from the painting", variant="primary")
                with gr.Accordion("Reference photo: copy a style", open=studio.per_instance or studio.image_encoder):
                    reference = gr.Image(label="Reference photo: click an instance, then one of the image",
                                         format="png", interactive=False, height=200, show_download_button=False,
                                         elem_id="reference")
                    with gr.Tab("Built-in"):
                        reference_example = gr.Dropdown(examples, value=0 if examples else None, label="Photo")
                        use_example = gr.Button("Use this photo", size="sm")
                    with gr.Tab("Upload"):
                        photo_file = gr.File(label="Photo", file_types=["image"], type="filepath")
                        photo_label = gr.File(label="Its label map", file_types=["image"], type="filepath")
                        photo_instance = gr.File(label="Its instance map (optional)", file_types=["image"],
                                                 type="filepath")
                        use_upload = gr.Button("Use these files", size="sm")

        _none = gr.State(None)  # an input that is always None: the other way of choosing a reference
        shown = [image, label_view, reference, instance, cls, status, download_image, download_styles,
                 download_label, download_instance]

        def show(view, key, scene_changed=False, reference_changed=False):
            """The outputs of an event; what an edit leaves as it was is skipped."""
            session = studio.session(key)
            files = studio.download_files(key, maps=scene_changed)
            notes = "\n\n".join(view.notes)
            if view.changed:
                names = ", ".join(session.scene.describe(raw) for raw in view.changed)
                notes = (notes + "\n\n" if notes else "") + f"Changed: {names} (outlined for a moment)."
            if not scene_changed:
                reference_view = view.reference if reference_changed else gr.skip()
                return (view.highlighted(session.scene), gr.skip(), reference_view, gr.skip(), gr.skip(), notes,
                        *files, gr.skip(), gr.skip())
            classes = sorted({c for _, c, _ in view.instances})
            return (view.highlighted(session.scene), view.label, view.reference,
                    gr.update(choices=[(f"{raw}: {name}", raw) for raw, _, name in view.instances], value=None),
                    gr.update(choices=[(studio.class_name(c), c) for c in classes], value=None),
                    notes, *files)

        def on(trigger, fn, inputs, api_name):
            event = trigger(fn, inputs, shown, api_name=api_name, concurrency_id=MODEL_EVENTS,
                            concurrency_limit=concurrency)
            event.success(plain, None, [image], api_name=False, show_progress="hidden",
                          concurrency_id="highlight", concurrency_limit=8)

        def plain(request: gr.Request):
            time.sleep(HIGHLIGHT_SECONDS)  # the outline of the changed instance stays this long
            return _guarded(lambda: studio.session(request.session_hash).image)

        def open_example(index, seed_value, request: gr.Request):
            def call():
                scene, _, notes = studio.example_scene(index)
                return show(studio.open(request.session_hash, scene, notes, seed_value), request.session_hash, True)
            return _guarded(call)

        def open_upload(label_path, instance_path, seed_value, request: gr.Request):
            def call():
                scene, notes = studio.uploaded_scene(label_path, instance_path)
                return show(studio.open(request.session_hash, scene, notes, seed_value), request.session_hash, True)
            return _guarded(call)

        def open_painted(value, fill_class, seed_value, request: gr.Request):
            def call():
                scene, notes = studio.painted_scene(value, fill_class)
                return show(studio.open(request.session_hash, scene, notes, seed_value), request.session_hash, True)
            return _guarded(call)

        def current_map(request: gr.Request):
            def call():
                label = studio.session(request.session_hash).view().label
                enlarged = label.repeat(scale, axis=0).repeat(scale, axis=1)
                return {"background": enlarged, "layers": [], "composite": enlarged}
            return _guarded(call)

        def new_noise(request: gr.Request):
            key = request.session_hash
            return _guarded(lambda: show(studio.act(key, Session.new_image_noise), key))

        def interpolate(position, request: gr.Request):
            key = request.session_hash
            return _guarded(lambda: show(studio.act(key, Session.interpolate, position), key))

        def keep(slot):
            def handler(request: gr.Request):
                key = request.session_hash
                return _guarded(lambda: show(studio.act(key, Session.keep, slot, render=False), key))
            return handler

        def close(request: gr.Request):
            studio.close(request.session_hash)

        def click_image(whole_image, event: gr.SelectData, request: gr.Request):
            key = request.session_hash
            return _guarded(lambda: show(studio.click_image(key, *event.index, not whole_image), key))

        def click_reference(event: gr.SelectData, request: gr.Request):
            key = request.session_hash
            return _guarded(lambda: show(studio.click_reference(key, *event.index), key))

        def use_reference(index, photo, photo_map, photo_instances, request: gr.Request):
            key = request.session_hash

            def call():
                studio.session(key)  # an expired session says so before the files are read
                scene, picture, notes = studio.reference_scene(index, photo, photo_map, photo_instances)
                return show(studio.set_reference(key, scene, picture, notes), key, False, True)
            return _guarded(call)

        def redraw_one(raw_id, whole_image, request: gr.Request):
            key = request.session_hash
            if raw_id is None:
                raise gr.Error("choose an instance in the list first", print_exception=False)
            return _guarded(lambda: show(studio.act(key, Session.redraw, _integer(raw_id), not whole_image), key))

        def redraw_by_class(cls_id, whole_image, request: gr.Request):
            key = request.session_hash
            if cls_id is None:
                raise gr.Error("choose a class in the list first", print_exception=False)
            return _guarded(lambda: show(studio.act(key, Session.redraw_class, _integer(cls_id), not whole_image), key))

        on(load_example.click, open_example, [example, seed], "open_example")
        on(load_upload.click, open_upload, [label_file, instance_file, seed], "open_upload")
        on(load_painted.click, open_painted, [editor, fill, seed], "open_painted")
        on(image.select, click_image, [whole], False)
        on(reference.select, click_reference, None, False)
        on(use_example.click, use_reference, [reference_example, _none, _none, _none], "reference_example")
        on(use_upload.click, use_reference, [_none, photo_file, photo_label, photo_instance], "reference_upload")
        on(redraw.click, redraw_one, [instance, whole], "redraw_instance")
        on(redraw_class.click, redraw_by_class, [cls, whole], "redraw_class")
        on(noise.click, new_noise, None, "new_noise")
        on(between.release, interpolate, [between], "interpolate")
        keep_a.click(keep("A"), None, shown, api_name="keep_a", concurrency_id=MODEL_EVENTS)
        keep_b.click(keep("B"), None, shown, api_name="keep_b", concurrency_id=MODEL_EVENTS)
        paint_over.click(current_map, None, [editor], api_name=False)
        if examples:
            demo.load(open_example, [example, seed], shown, api_name=False, concurrency_id=MODEL_EVENTS)
        demo.unload(close)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=concurrency)
    return demo


def _integer(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise InadeError(f"{value!r} is not an id") from None


def launch_options(studio: Studio, host: str | None = None, port: int | None = None) -> dict:
    """Keyword arguments of demo.launch: uploads over the studio's byte limit
    refused while they arrive, bounded per-session state, no server-side
    rendering (no Node), errors shown in the page. host/port None: Gradio's
    own defaults (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which app hosts set)."""
    return dict(server_name=host, server_port=port, max_file_size=studio.max_upload_bytes,
                state_session_capacity=2 * studio.max_sessions, ssr_mode=False, show_error=True, quiet=True)
