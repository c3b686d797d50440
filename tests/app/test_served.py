"""The demo as `inade app` serves it, driven by Gradio's client on 127.0.0.1:
its endpoints, uploads the server refuses, a bounded load with the server's
memory measured, and the command's errors."""
import os
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from .conftest import SIZE, example, near, write_png

ENV = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False")


def rss_mb(pid) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) / 1024


@pytest.fixture(scope="module")
def served(run_folder):
    """(URL, server process) of `inade app --port 0` on the tiny model."""
    process = subprocess.Popen([sys.executable, "-m", "inade", "app", "--checkpoint", run_folder, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = process.stdout.readline()
        assert line.startswith("inade page on http://127.0.0.1:"), (line, process.poll() and process.stderr.read())
        yield line.split()[3], process
    finally:
        process.terminate()
        process.wait(timeout=60)


def client(url, download_files=True):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=download_files)


def picture(result):
    return np.asarray(Image.open(result if isinstance(result, str) else result["path"]).convert("RGB")).astype(int)


def test_endpoints_open_redraw_and_download(served):
    from gradio_client.exceptions import AppError

    page = client(served[0])
    with pytest.raises(AppError, match="session has expired: load a label map again"):
        page.predict(0, False, api_name="/redraw_instance")  # a new tab that loaded nothing
    opened = page.predict(1, 0, api_name="/open_example")
    ids = [raw for _, raw in opened[3]["choices"]]
    thing = next(raw for raw in ids if raw >= 2000)
    redrawn = page.predict(thing, False, api_name="/redraw_instance")
    assert f"Changed: {thing} (" in redrawn[5]
    label, raw_instance, _ = example(1)
    mask = raw_instance == thing
    change = np.abs(picture(redrawn[0]) - picture(opened[0])).sum(axis=2)
    assert not change[~near(mask, 3)].any()  # the shown image is outlined, then the plain image arrives
    assert not (picture(redrawn[6]) - picture(opened[6]))[~near(mask)].any()  # the downloaded image: a local edit
    with open(redrawn[7]) as f:
        assert '"history"' in f.read()
    with pytest.raises(AppError, match="instance 987654 is not in procedural scene 1"):
        page.predict(987654, False, api_name="/redraw_instance")
    with pytest.raises(AppError, match="9 is not in the list of choices"):  # Gradio checks the list itself
        page.predict(9, 0, api_name="/open_example")


def test_hostile_uploads_are_messages_and_the_server_stays_up(served, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    page = client(served[0])
    bomb = tmp_path / "bomb.png"
    Image.new("L", (4000, 3000)).save(bomb, optimize=True)
    (tmp_path / "notes.png").write_bytes(b"not a picture at all" * 50)
    label = write_png(tmp_path / "label.png", example(0)[0].astype(np.uint8))
    cases = [
        ((handle_file(str(bomb)), None), r"bomb.png: 4000x3000 pixels \(12.0 megapixels\) is over the limit"),
        ((handle_file(str(tmp_path / "notes.png")), None), "notes.png: not an image file"),
        ((handle_file(label), handle_file(write_png(tmp_path / "half.png", np.zeros((16, 16), np.uint8)))),
         "the instance map is 16x16, its label map 32x32"),
        ((handle_file(write_png(tmp_path / "nine.png", np.full((SIZE, SIZE), 9, np.uint8))), None), "nine.png"),
    ]
    for (label_file, instance_file), message in cases:
        with pytest.raises(AppError, match=message):
            page.predict(label_file, instance_file, 0, api_name="/open_upload")
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(11 * 2**20))  # over the 10 MB limit: refused while it arrives
    with pytest.raises(Exception, match="(?i)maximum|too large|exceed|413"):
        page.predict(handle_file(str(big)), None, 0, api_name="/open_upload")
    opened = page.predict(handle_file(label), None, 7, api_name="/open_upload")
    assert [raw for _, raw in opened[3]["choices"]]  # the server answers as before


def test_bounded_load_eight_clients_twenty_five_requests_each(served):
    """8 clients x 25 requests (an open, then redraws); every request answered,
    the server's memory measured before and after (docs/app.md has the numbers)."""
    url, process = served
    warm = client(url)
    warm.predict(0, 0, api_name="/open_example")
    before = rss_mb(process.pid)
    latencies, failures = [], []

    def tab(index):
        page = client(url, download_files=False)  # the clients' time is the server's: they share the cores
        try:
            ids = [raw for _, raw in page.predict(index % 6, index, api_name="/open_example")[3]["choices"]]
            for k in range(24):
                start = time.perf_counter()
                page.predict(ids[k % len(ids)], False, api_name="/redraw_instance")
                latencies.append(time.perf_counter() - start)
        except Exception as error:  # collected: the assertion below names it
            failures.append(repr(error))

    start = time.perf_counter()
    threads = [threading.Thread(target=tab, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - start
    after = rss_mb(process.pid)
    assert failures == [] and len(latencies) == 8 * 24
    print(f"\nload: 8 clients x 25 requests in {elapsed:.1f} s; redraw latency median "
          f"{np.median(latencies) * 1000:.0f} ms, p95 {np.percentile(latencies, 95) * 1000:.0f} ms; "
          f"server RSS {before:.0f} MB before, {after:.0f} MB after")
    assert after - before < 150, (before, after)


def test_the_command_reports_a_busy_port(run_folder):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "inade", "app", "--checkpoint", run_folder, "--port", str(port)],
                              capture_output=True, text=True, timeout=180, env=ENV)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "try another --port" in done.stderr
