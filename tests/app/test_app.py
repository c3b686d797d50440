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
from inade.errors import InadeError
from inade.synthesis import Synthesizer
from inade.training import train

from ..training.tiny import write_config

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(base URL, the Synthesizer it serves, its run folder) of a server on a free port."""
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
    yield f"http://127.0.0.1:{httpd.server_address[1]}", synth, str(folder / "run")
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server(app):
    return app[0]


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
    assert len(info["classes"]) == 6 and info["per_instance"] and info["max_upload_bytes"] > 0


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


def _example(example, size=32):
    # a built-in example's label, raw instance map and photo, as the server builds them
    from inade.data.procedural import ProceduralDataset
    from inade.visuals import to_uint8_image

    dataset = ProceduralDataset(size=size, num_samples=6, seed=2024)
    label, raw_instance, _, _ = dataset.layout(example)
    return label, raw_instance, to_uint8_image(dataset.generate(example)["image"])


def _instance_mask(example, raw_id, size=32):
    return _example(example, size)[1] == raw_id


def test_redrawing_from_the_instance_list_changes_that_instance(server):
    _, view = post(server, "/api/open", {"example": 3})
    thing = next(inst for inst in view["instances"] if inst["class"] >= 2)
    status, after = post(server, "/api/resample", {"session": view["session"], "id": thing["id"]})
    assert status == 200, after
    mask = _instance_mask(3, thing["id"])
    change = np.abs(picture(after["image"]) - picture(view["image"])).sum(axis=2)
    assert change[mask].mean() > 3 * change[~mask].mean()
    status, error = post(server, "/api/resample", {"session": view["session"], "id": 987654})
    assert status == 400 and "instance 987654 is not in" in error["error"] and thing["class_name"] in error["error"]


def test_class_noise_copy_and_downloads(app, tmp_path):
    from inade.synthesis import Styles

    server, synth, _ = app
    _, view = post(server, "/api/open", {"example": 2})
    token = view["session"]
    label, raw_instance, photo = _example(2)
    cls = next(inst["class"] for inst in view["instances"] if inst["class"] >= 2)
    status, by_class = post(server, "/api/resample_class", {"session": token, "class": cls})
    change = np.abs(picture(by_class["image"]) - picture(view["image"])).sum(axis=2)
    assert status == 200 and change[label == cls].mean() > 3 * change[label != cls].mean()
    status, noised = post(server, "/api/new_noise", {"session": token})
    assert status == 200, noised
    status, referenced = post(server, "/api/reference", {"session": token, "reference_example": 2})
    assert status == 200 and "reference" in referenced
    np.testing.assert_array_equal(picture(referenced["reference"]), photo)
    with urllib.request.urlopen(f"{server}/api/download/styles?session={token}", timeout=30) as response:
        (tmp_path / "before.json").write_bytes(response.read())
    before = Styles.load(str(tmp_path / "before.json"))
    # new image noise drew z only (the tiny model's 1x1 latent, instance-normalised,
    # makes z invisible in its images, so the style file is what is checked)
    first = synth.random_styles(synth.scene(label, raw_instance), 0)
    assert not np.allclose(before.z, first.z) and before.z.shape == first.z.shape
    for raw_id, cls_of in first.classes.items():  # and the class redraw touched that class only
        assert np.array_equal(before.noise[raw_id], first.noise[raw_id]) == (cls_of != cls)
    # a click on the reference and one on the image: the target takes the encoded mean of the source
    target = int(raw_instance[30, 16])
    status, copied = post(server, "/api/copy", {"session": token, "ref_x": 16, "ref_y": 30, "x": 16, "y": 30})
    assert status == 200, copied
    path = tmp_path / "styles.json"
    with urllib.request.urlopen(f"{server}/api/download/styles?session={token}", timeout=30) as response:
        path.write_bytes(response.read())
    styles = Styles.load(str(path), synth.class_names)
    assert set(styles.noise) == {inst["id"] for inst in view["instances"]}
    scene = synth.scene(label, raw_instance)
    mean = synth.encode(scene, photo)[target][0]
    np.testing.assert_allclose(styles.noise[target], mean, rtol=1e-6, atol=1e-6)
    for raw_id in set(styles.noise) - {target}:
        np.testing.assert_array_equal(styles.noise[raw_id], before.noise[raw_id])
    assert not np.allclose(before.noise[target], mean)
    # the style file reproduces the downloaded image bit for bit
    with urllib.request.urlopen(f"{server}/api/download/image?session={token}", timeout=30) as response:
        downloaded = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))
    np.testing.assert_array_equal(downloaded, picture(copied["image"]))
    from inade.visuals import to_uint8_image

    np.testing.assert_array_equal(to_uint8_image(synth.render(scene, [styles])[0]), downloaded)
    # INADE has no image-level encoder: the page's one-click copy says so
    status, error = post(server, "/api/copy_image", {"session": token})
    assert status == 400 and "INADE models copy styles per instance" in error["error"]


def test_painted_maps_and_wrong_uploads_get_readable_messages(server):
    ids = np.zeros((32, 32), np.int64)
    ids[16:] = 1
    ids[20:28, 4:12] = 3
    ids[20:28, 20:28] = 3  # a second, separate box: its own instance
    status, view = post(server, "/api/open", {"painted": {"ids": ids.ravel().tolist(), "height": 32, "width": 32}})
    assert status == 200 and sorted(inst["class"] for inst in view["instances"]) == [0, 1, 3, 3]
    from inade.visuals import colorize_labels

    np.testing.assert_array_equal(picture(view["label"]), colorize_labels(ids, 6))
    status, current = post(server, "/api/label_ids", {"session": view["session"]})
    assert status == 200 and current["ids"] == ids.ravel().tolist() and "image" not in current
    status, error = post(server, "/api/open", {"painted": {"ids": [7] * 1024, "height": 32, "width": 32}})
    assert status == 400 and "class 7" in error["error"] and "0..5" in error["error"]
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200
    status, error = post(server, "/api/open", {"label": png_upload("photo.png", rgb)})
    assert status == 400 and error["error"].startswith("photo.png: a colour (RGB) image")
    status, error = post(server, "/api/open", {"label": png_upload("big.png", np.full((32, 32), 9, np.uint8))})
    assert status == 400 and "big.png" in error["error"] and "9" in error["error"]
    status, view = post(server, "/api/open", {"label": png_upload("wide.png", np.ones((16, 48), np.uint8))})
    assert status == 200 and "resized (nearest)" in view["notes"][0]
    status, error = post(server, "/api/resample", {"session": "nope", "x": 1, "y": 1})
    assert status == 400 and "session has expired" in error["error"]
    status, error = post(server, "/api/open", {"painted": {"ids": [0, 1], "height": 32, "width": 32}})
    assert status == 400 and "2 pixels, not 32x32" in error["error"]
    status, error = post(server, "/api/teleport", {"session": view["session"]})
    assert status == 400 and "unknown action 'teleport'" in error["error"]


def test_an_oversized_upload_is_refused_before_it_is_read(server):
    import http.client

    host, port = server[len("http://"):].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/open")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(500 * 2**20))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "the limit is 20 MB" in json.loads(response.read())["error"]
    connection.close()


def test_painted_class_ids_become_the_datasets_raw_values(app):
    # an ADE20K-style model counts raw labels from 1 with 0 = don't care: the
    # palette's class ids must come back as the same classes, don't care included
    import copy
    import dataclasses

    from inade.app import Studio

    synth = copy.copy(app[1])
    synth.config = dataclasses.replace(synth.config, data=dataclasses.replace(synth.config.data, type="ade20k"))
    synth.contain_dontcare = True
    studio = Studio(synth, examples=[])
    assert [c["name"] for c in studio.info()["classes"]][-1] == "don't care"
    classes = np.zeros((32, 32), np.int64)
    classes[:, 16:] = synth.label_nc  # don't care
    classes[4:10, 4:10] = 2
    classes[20:26, 4:10] = 2
    scene = studio.painted_scene({"ids": classes.ravel().tolist(), "height": 32, "width": 32})
    np.testing.assert_array_equal(scene.label, classes)
    assert sorted(int(c) for c in scene.instance_classes) == [0, 2, 2, synth.label_nc]


def test_the_command_line_serves_on_a_free_port_and_reports_a_busy_one(app):
    import socket

    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, "-m", "inade", "app", "--checkpoint", app[2], "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("inade page on http://127.0.0.1:"), (line, process.stderr.read() if process.poll() else "")
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'<script src="/static/app.js">' in response.read()
        with urllib.request.urlopen(url + "api/info", timeout=30) as response:
            assert json.loads(response.read())["size"] == [32, 32]
    finally:
        process.terminate()
        process.wait(timeout=30)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "inade", "app", "--checkpoint", app[2], "--port", str(port)],
                              capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "try another --port" in done.stderr


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
            # a colour picture chosen as the label map: the reason shows in the page, the image stays
            rgb = np.zeros((32, 32, 3), np.uint8)
            rgb[..., 0], rgb[8:, 1] = 200, 90
            Image.fromarray(rgb).save(tmp_path / "photo.png")
            page.set_input_files("#label-file", str(tmp_path / "photo.png"))
            page.click("#load-upload")
            page.wait_for_selector("#message:not([hidden])", timeout=30000)
            assert page.inner_text("#message").startswith("photo.png: a colour (RGB) image")
            np.testing.assert_array_equal(picture(page.get_attribute("#image", "src")), after)
            page.screenshot(path=str(tmp_path / "error.png"))
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


def test_image_level_models_copy_a_whole_photo_and_explain_per_instance_clicks(tmp_path):
    # CLADE with GauGAN's encoder: one style per image, so the page copies the
    # whole reference photo's style and refuses a click on one instance with the reason
    from inade.app import Studio

    train(load_config(write_config(tmp_path, tmp_path / "clade", optim={"iterations": 1},
                                   model={"norm_mode": "clade", "use_encoder": True},
                                   logging={"image_every": 0, "checkpoint_every": 100})))
    synth = Synthesizer.load(str(tmp_path / "clade"))
    studio = Studio(synth)
    info = studio.info()
    assert not info["per_instance"] and info["image_encoder"]
    token, _ = studio.open({"example": 0})
    studio.act(token, "reference", {"reference_example": 1})
    studio.act(token, "copy_image", {})
    mu, _ = synth.encode_image(_example(1)[2])
    np.testing.assert_array_equal(studio.session(token).styles.z, mu)
    with pytest.raises(InadeError, match="needs per-instance styles, which this CLADE model does not have"):
        studio.act(token, "resample", {"x": 3, "y": 3})
