"""The web demo as a Gradio app, for app hosts that run a Gradio `app.py` as it
is (AI Studio's Gradio apps, Hugging Face Spaces, any machine with the app
extra): `python app.py`, or a host that imports `demo` from it.

It serves the model that ships with the repository. Address and port are
Gradio's settings: 127.0.0.1:7860 unless the host sets GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT. Locally, `inade app` does the same with options.
"""
from inade.runtime import prepare_process

prepare_process()  # threads as the inade command sets them, before Paddle loads

from inade.app import Studio  # noqa: E402
from inade.app.demo import build_demo, launch_options  # noqa: E402
from inade.synthesis import Synthesizer  # noqa: E402

studio = Studio(Synthesizer.from_pretrained("procedural"))
demo = build_demo(studio)

if __name__ == "__main__":
    demo.launch(**launch_options(studio))
