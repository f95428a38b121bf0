"""The data loader: finding the course's copy, the cache, and downloads from a real local HTTP server."""

import gzip
import hashlib
import http.server
import pickle
import threading

import numpy as np
import pytest

import mnist_loader
from mnistkit.course import COURSE_ROOT
from mnist_loader import MnistDataError

COURSE_DATA = COURSE_ROOT / "mnist_data" / "mnist.npz"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder outside the course, with an empty cache and no configuration."""
    for name in ("MNIST_DATA", "MNIST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "student"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


class FileServer:
    """A real HTTP server on 127.0.0.1 serving chosen bytes at ``/mnist.pkl.gz``."""

    def __init__(self):
        self.body = b""
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
    monkeypatch.setenv("MNIST_URL", "http://127.0.0.1:9/mnist.pkl.gz")  # nothing listens on the discard port
    with pytest.raises(MnistDataError) as raised:
        mnist_loader.locate()
    message = str(raised.value)
    assert "No MNIST data found" in message and "Could not download MNIST from http://127.0.0.1:9" in message
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
