"""The page in a real browser (Chromium driven by Playwright): a click on an
instance redraws that instance only, a wrong upload shows its reason, and the
page asks nothing of the internet."""
import os
import socket
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from inade.app import serve

from .conftest import SIZE, example, near

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


@pytest.fixture()
def page_url(synth):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo, url = serve(synth, "127.0.0.1", port, block=False)
    yield url
    demo.close()


def _fetch(page, src):
    import io

    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")).astype(int)


def _click_pixel(page, selector, x, y):
    # the picture is drawn at the largest size that fits its box (object-fit: contain)
    box = page.locator(selector).bounding_box()
    scale = min(box["width"] / SIZE, box["height"] / SIZE)
    left = box["x"] + (box["width"] - SIZE * scale) / 2
    top = box["y"] + (box["height"] - SIZE * scale) / 2
    page.mouse.click(left + (x + 0.5) * scale, top + (y + 0.5) * scale)


def test_in_a_browser_a_click_redraws_only_that_instance(page_url, tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})

            def only_this_machine(route):
                if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
                    return route.continue_()
                outside.append(route.request.url)
                return route.abort()

            page.route("**/*", only_this_machine)
            page.goto(page_url)
            image = "#image img"
            page.wait_for_selector(image, timeout=60000)  # the page opens the first built-in map
            before_src = page.get_attribute(image, "src")
            before = _fetch(page, before_src)
            _, raw_instance, _ = example(0)
            thing = next(int(i) for i in np.unique(raw_instance) if i >= 2000)
            mask = raw_instance == thing
            y, x = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
            _click_pixel(page, image, x, y)
            page.wait_for_function("document.querySelector('#status').innerText.includes('Changed:')", timeout=60000)
            assert f"Changed: {thing} (" in page.inner_text("#status")
            outlined_src = page.get_attribute(image, "src")
            assert outlined_src != before_src
            outlined = _fetch(page, outlined_src)
            page.wait_for_function(f"document.querySelector('{image}').src !== {outlined_src!r}", timeout=30000)
            after = _fetch(page, page.get_attribute(image, "src"))
            change = np.abs(after - before).sum(axis=2)
            assert change[mask].mean() > 1 and not change[~near(mask)].any(), change[mask].mean()
            assert (outlined != after).any(axis=2)[near(mask, 1)].any()  # the outline came, and went
            page.screenshot(path=str(tmp_path / "page.png"))
            assert os.path.getsize(tmp_path / "page.png") > 10000
            # a colour picture chosen as the label map: the reason shows in the page, the image stays
            rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
            rgb[..., 0], rgb[8:, 1] = 200, 90
            Image.fromarray(rgb).save(tmp_path / "photo.png")
            page.get_by_role("tab", name="Upload").first.click()
            page.locator("input[type=file]").first.set_input_files(str(tmp_path / "photo.png"))
            page.get_by_role("button", name="Generate from the files").click()
            toast = page.locator("[data-testid='toast-body']")
            toast.first.wait_for(timeout=30000)
            assert "photo.png: a colour (RGB) image" in toast.first.inner_text()
            np.testing.assert_array_equal(_fetch(page, page.get_attribute(image, "src")), after)
            _paint_two_blobs(page)
        finally:
            browser.close()
    # Gradio's page template asks for one optional script from a CDN (iframe-resizer,
    # for embedding in other pages); nothing else, fonts included, leaves the machine
    assert [u for u in outside if "iframe-resizer" not in u] == [], outside


def _paint_two_blobs(page):
    """Two separate strokes of one class on the empty canvas: a map of two instances of it, sky elsewhere."""
    from scipy.ndimage import label as components

    label_src = page.get_attribute("#label img", "src")
    page.get_by_role("tab", name="Paint").first.click()
    page.locator("#editor button[aria-label='Brush']").click()
    page.locator("#editor button[aria-label='Color']").click()
    page.locator("#editor menu.swatch button").nth(2).click()  # class 2, disc
    box = page.locator("#editor canvas").first.bounding_box()
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-80, -50), (50, 40)):
        page.mouse.move(middle_x + dx, middle_y + dy)
        page.mouse.down()
        page.mouse.move(middle_x + dx + 25, middle_y + dy + 10, steps=5)
        page.mouse.up()
    page.get_by_role("button", name="Generate from the painting").click()
    page.wait_for_function(f"document.querySelector('#label img').src !== {label_src!r}", timeout=60000)
    painted = _fetch(page, page.get_attribute("#label img", "src"))
    disc = (painted == [0, 128, 0]).all(axis=2)
    sky = (painted == [0, 0, 0]).all(axis=2)
    assert components(disc, np.ones((3, 3)))[1] == 2 and (disc | sky).all()
