"""The web page: its JSON API, and the page itself in a real headless browser."""
import base64
import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from inade.app import make_server
from inade.config import load_config
from inade.synthesis import Synthesizer
from inade.training import train

from ..training.tiny import write_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    train(load_config(write_config(folder, folder / "run", optim={"iterations": 2},
                                   logging={"image_every": 0, "checkpoint_every": 100})))
    synth = Synthesizer.load(str(folder / "run"))
    # Two iterations leave the style noise nearly without effect; amplify it so
    # that a redrawn instance visibly changes (the plumbing is what is tested here).
    for name, layer in synth.generator.named_sublayers():
        if name.endswith("fc_noise"):
            layer.weight.set_value(layer.weight * 30.0)
    httpd = make_server(synth, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def post(base, path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def picture(data_url):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")).astype(int)


def png_upload(name, array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"name": name, "data": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def test_info_lists_classes_and_examples(server):
    with urllib.request.urlopen(server + "/api/info", timeout=30) as response:
        info = json.loads(response.read())
    assert info["size"] == [32, 32] and info["classes"][1]["name"] == "ground" and len(info["examples"]) == 6


def test_resampling_an_instance_changes_the_image_only_there(server):
    status, view = post(server, "/api/open", {"example": 1})
    assert status == 200, view
    token, before = view["session"], picture(view["image"])
    # the label map's instances come back from a click: pick a thing (class >= 2)
    thing = next(inst for inst in view["instances"] if inst["class"] >= 2)
    status, again = post(server, "/api/open", {"example": 1})
    np.testing.assert_array_equal(picture(again["image"]), before)  # same example, same seed: same image
    synth_mask = _instance_mask(1, thing["id"])
    y, x = np.argwhere(synth_mask)[len(np.argwhere(synth_mask)) // 2]
    status, after = post(server, "/api/resample", {"session": token, "x": int(x), "y": int(y)})
    assert status == 200, after
    change = np.abs(picture(after["image"]) - before).sum(axis=2)
    assert change[synth_mask].mean() > 3 * change[~synth_mask].mean(), (change[synth_mask].mean(), change[~synth_mask].mean())


def _instance_mask(example, raw_id, size=32):
    # the instance map of a built-in example, as the server builds it
    from inade.data.procedural import ProceduralDataset

    _, raw_instance, _, _ = ProceduralDataset(size=size, num_samples=6, seed=2024).layout(example)
    return raw_instance == raw_id


def test_class_noise_copy_and_downloads(server):
    _, view = post(server, "/api/open", {"example": 2})
    token = view["session"]
    cls = next(inst["class"] for inst in view["instances"] if inst["class"] >= 2)
    status, by_class = post(server, "/api/resample_class", {"session": token, "class": cls})
    assert status == 200 and not np.array_equal(picture(by_class["image"]), picture(view["image"]))
    status, noised = post(server, "/api/new_noise", {"session": token})
    assert status == 200, noised
    status, referenced = post(server, "/api/reference", {"session": token, "reference_example": 2})
    assert status == 200 and "reference" in referenced
    # copying an instance's style onto itself from its own photo: the clicked instance takes the encoded style
    status, copied = post(server, "/api/copy", {"session": token, "ref_x": 16, "ref_y": 30, "x": 16, "y": 30})
    assert status == 200, copied
    with urllib.request.urlopen(f"{server}/api/download/styles?session={token}", timeout=30) as response:
        styles = json.loads(response.read())
    assert set(styles["instances"]) == {str(inst["id"]) for inst in view["instances"]}
    with urllib.request.urlopen(f"{server}/api/download/image?session={token}", timeout=30) as response:
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB")),
                                      picture(copied["image"]))


def test_painted_maps_and_wrong_uploads_get_readable_messages(server):
    ids = np.zeros((32, 32), np.int64)
    ids[16:] = 1
    ids[20:28, 4:12] = 3
    status, view = post(server, "/api/open", {"painted": {"ids": ids.ravel().tolist(), "height": 32, "width": 32}})
    assert status == 200 and {inst["class"] for inst in view["instances"]} == {0, 1, 3}
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200
    status, error = post(server, "/api/open", {"label": png_upload("photo.png", rgb)})
    assert status == 400 and error["error"].startswith("photo.png is a colour (RGB) image")
    status, error = post(server, "/api/open", {"label": png_upload("big.png", np.full((32, 32), 9, np.uint8))})
    assert status == 400 and "big.png" in error["error"] and "9" in error["error"]
    status, view = post(server, "/api/open", {"label": png_upload("wide.png", np.ones((16, 48), np.uint8))})
    assert status == 200 and "resized (nearest)" in view["notes"][0]
    status, error = post(server, "/api/resample", {"session": "nope", "x": 1, "y": 1})
    assert status == 400 and "session has expired" in error["error"]
    status, error = post(server, "/api/open", {"painted": {"ids": [0, 1], "height": 32, "width": 32}})
    assert status == 400 and "2 pixels, not 32x32" in error["error"]


def test_the_command_line_reports_a_busy_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "app.py"), "--port", str(port),
                               "--checkpoint", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def _browser_or_skip():
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        if os.environ.get("INADE_REQUIRE_BROWSER"):
            pytest.fail(f"browser test required but {' and '.join(missing)} missing")
        pytest.skip(f"needs {' and '.join(missing)} (apt-get install chromium; pip install playwright)")


def test_in_a_real_browser_generate_click_an_instance_and_screenshot(server, tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server)
            page.wait_for_selector("body[data-ready='1']", timeout=60000)
            before_src = page.get_attribute("#image", "src")
            before = picture(before_src)
            version = page.get_attribute("#image", "data-version")
            mask = _instance_mask(0, _first_thing(page))
            y, x = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
            box = page.locator("#image").bounding_box()
            page.mouse.click(box["x"] + (x + 0.5) / 32 * box["width"], box["y"] + (y + 0.5) / 32 * box["height"])
            page.wait_for_function(f"document.getElementById('image').dataset.version !== '{version}'", timeout=60000)
            after = picture(page.get_attribute("#image", "src"))
            change = np.abs(after - before).sum(axis=2)
            assert change[mask].mean() > 3 * change[~mask].mean(), (change[mask].mean(), change[~mask].mean())
            assert page.locator("#message").is_hidden()
            page.screenshot(path=str(tmp_path / "page.png"))
            assert os.path.getsize(tmp_path / "page.png") > 10000
        finally:
            browser.close()


def _first_thing(page):
    # the first example's instance list, as the page shows it: "id: class name"
    items = page.locator("#instances li").all_inner_texts()
    for text in items:
        raw, name = text.split(": ", 1)
        if name not in ("sky", "ground"):
            return int(raw)
    raise AssertionError(f"no thing instance in {items}")
