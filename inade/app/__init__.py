"""The web demo (a Gradio app, the `app` extra): paint, upload or choose a
label map, generate, click instances to redraw them, copy styles from a
reference photo, download the image and its style file.

The operations are plain Python (Studio, Session); inade.app.demo lays them
out as a Gradio page, imported only when a page is built."""
from .session import Session, View
from .studio import Studio


def serve(synth=None, host: str | None = "127.0.0.1", port: int | None = 7860, concurrency: int = 1,
          block: bool = True):
    """Build the page for ``synth`` (default: the shipped model) and start
    serving it; returns (demo, url). host/port None: Gradio's defaults."""
    from .demo import build_demo, launch_options

    if synth is None:
        from ..synthesis import Synthesizer

        synth = Synthesizer.load()
    studio = Studio(synth)
    demo = build_demo(studio, concurrency)
    _, url, _ = demo.launch(prevent_thread_lock=True, **launch_options(studio, host, port))
    if block:
        demo.block_thread()
    return demo, url


__all__ = ["Session", "Studio", "View", "serve"]
