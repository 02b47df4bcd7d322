"""course_utils.data: both on-disk layouts, the clear error, the tensor cache, subsets, augmentation."""
import pickle
import socket
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets, transforms

from conftest import requires_cifar10
from course_utils import data
from course_utils.config import get_profile
from course_utils.data import CLASSES, DataNotFoundError

# The label order of CIFAR-10's own batches.meta (label_names), as published with the dataset.
CIFAR10_LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test downloads (a test that needs the download path serves it locally)."""
    monkeypatch.setenv(data.OFFLINE_ENV, "1")


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Tensors decoded from the fake datasets go to a throwaway cache."""
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- a tiny CIFAR-10 in both layouts --------------------------------------------------------

def fake_images(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """``n`` random 32×32 RGB images (N×H×W×C uint8) and labels cycling through the 10 classes."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = [int(i) for i in rng.permutation([i % 10 for i in range(n)])]
    return images, labels


def write_torchvision_layout(root, train, test):
    """``root/cifar-10-batches-py`` with pickled batches in the format torchvision reads."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def dump(name, images, labels):
        rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)   # CHW rows of 3072 bytes
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "labels": labels, "data": rows}, f)

    (train_x, train_y), (test_x, test_y) = train, test
    for i, part in enumerate(np.array_split(np.arange(len(train_y)), 5), start=1):
        dump(f"data_batch_{i}", train_x[part], [train_y[j] for j in part])
    dump("test_batch", test_x, test_y)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR10_LABEL_NAMES, "num_cases_per_batch": len(train_y) // 5}, f)


def write_imagefolder_layout(root, train, test):
    """``root/{train,test}/<class>/NNNN.png`` (lossless, so pixels survive exactly)."""
    for split, (images, labels) in (("train", train), ("test", test)):
        rank = {}
        for image, label in zip(images, labels):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{rank.setdefault(label, 0):04d}.png")
            rank[label] += 1


@pytest.fixture
def fake_splits():
    return fake_images(40, seed=1), fake_images(20, seed=2)


@pytest.fixture
def torchvision_root(tmp_path, fake_splits, monkeypatch, private_cache):
    # Our fake batches are not the published files: let torchvision skip its md5 check
    # (with md5 None it still requires every file to exist).
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[n, None] for n, _ in datasets.CIFAR10.train_list])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [[n, None] for n, _ in datasets.CIFAR10.test_list])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {**datasets.CIFAR10.meta, "md5": None})
    root = tmp_path / "tv"
    write_torchvision_layout(root, *fake_splits)
    return root


@pytest.fixture
def imagefolder_root(tmp_path, fake_splits, private_cache):
    root = tmp_path / "if"
    write_imagefolder_layout(root, *fake_splits)
    return root


def labels_by_image(images: torch.Tensor, labels: torch.Tensor) -> dict[bytes, int]:
    return {img.numpy().tobytes(): int(lab) for img, lab in zip(images, labels)}


@pytest.mark.parametrize("train", [True, False])
def test_both_layouts_give_the_same_label_for_every_image(torchvision_root, imagefolder_root, fake_splits, train):
    assert data.layout(torchvision_root) == "torchvision"
    assert data.layout(imagefolder_root) == "imagefolder"
    from_tv = data.load_tensors(train, root=torchvision_root)
    from_if = data.load_tensors(train, root=imagefolder_root)
    images, labels = fake_splits[0 if train else 1]
    expected = {img.transpose(2, 0, 1).tobytes(): lab for img, lab in zip(images, labels)}
    for x, y in (from_tv, from_if):
        assert x.dtype == torch.uint8 and x.shape == (len(labels), 3, 32, 32)
        assert y.dtype == torch.int64
        assert labels_by_image(x, y) == expected


def test_torchvision_layout_is_read_with_torchvisions_dataset_class(torchvision_root):
    ds = data.cifar10_dataset(True, root=torchvision_root)
    assert type(ds) is datasets.CIFAR10 and tuple(ds.classes) == CLASSES


def test_imagefolder_layout_is_read_with_torchvisions_dataset_class(imagefolder_root):
    ds = data.cifar10_dataset(False, root=imagefolder_root)
    assert type(ds) is datasets.ImageFolder and ds.class_to_idx == {c: i for i, c in enumerate(CLASSES)}


# --- one clear error for a missing or corrupt data directory --------------------------------

def assert_clear_error(excinfo, root):
    message = str(excinfo.value)
    assert data.DATA_ENV in message and str(root) in message, message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__, \
        "the torchvision traceback should not be chained on"


def test_missing_data_dir_names_course_data_dir(tmp_path, monkeypatch, private_cache):
    root = tmp_path / "nowhere"
    monkeypatch.setenv(data.DATA_ENV, str(root))
    with pytest.raises(DataNotFoundError) as excinfo:
        data.load_tensors(True)
    assert data.DATA_ENV in str(excinfo.value) and str(root) in str(excinfo.value)


def test_offline_flag_never_calls_the_network(tmp_path, monkeypatch):
    attempts = []
    monkeypatch.setattr(datasets.CIFAR10, "download", lambda self: attempts.append(self))
    with pytest.raises(DataNotFoundError, match=data.OFFLINE_ENV):
        data.cifar10_dataset(True, root=tmp_path)
    assert attempts == []


def test_a_download_that_hangs_fails_fast_with_the_clear_error(tmp_path, monkeypatch, private_cache):
    """A network that accepts and never answers: torchvision sets no timeout, we bound it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    monkeypatch.setattr(datasets.CIFAR10, "url", f"http://127.0.0.1:{server.getsockname()[1]}/cifar.tar.gz")
    monkeypatch.delenv(data.OFFLINE_ENV)
    monkeypatch.setenv(data.DOWNLOAD_TIMEOUT_ENV, "0.5")
    default_timeout = socket.getdefaulttimeout()
    start = time.perf_counter()
    try:
        with pytest.raises(DataNotFoundError) as excinfo:
            data.cifar10_dataset(True, root=tmp_path / "empty")
    finally:
        server.close()
    # One wait of 0.5 s (torchvision's redirect check), plus slack for a busy machine;
    # without the bound this would wait forever.
    assert time.perf_counter() - start < 20
    assert "timed out" in str(excinfo.value)
    assert_clear_error(excinfo, tmp_path / "empty")
    assert socket.getdefaulttimeout() == default_timeout, "the socket timeout must be restored"


def test_corrupt_torchvision_batches_give_the_clear_error(tmp_path, private_cache):
    root = tmp_path / "corrupt"
    (root / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DataNotFoundError) as excinfo:
        data.load_tensors(True, root=root)
    assert_clear_error(excinfo, root)


def test_unreadable_image_gives_the_clear_error(imagefolder_root):
    victim = next((imagefolder_root / "train" / "cat").glob("*.png"))
    victim.write_bytes(victim.read_bytes()[:40])   # a torn file
    with pytest.raises(DataNotFoundError) as excinfo:
        data.load_tensors(True, root=imagefolder_root)
    assert_clear_error(excinfo, imagefolder_root)


def test_wrong_class_folders_give_the_clear_error(imagefolder_root):
    (imagefolder_root / "test" / "cat").rename(imagefolder_root / "test" / "kitten")
    with pytest.raises(DataNotFoundError, match="kitten") as excinfo:
        data.cifar10_dataset(False, root=imagefolder_root)
    assert data.DATA_ENV in str(excinfo.value)


# --- the tensor cache -----------------------------------------------------------------------

def test_cache_round_trips_without_reading_the_images_again(imagefolder_root, monkeypatch):
    first = data.load_tensors(True, root=imagefolder_root)
    cached = list(data.cache_dir().glob("cifar10_train_*.pt"))
    assert len(cached) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache should have been used")
    monkeypatch.setattr(data, "cifar10_dataset", no_decoding)
    again = data.load_tensors(True, root=imagefolder_root)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])


def test_torn_cache_file_is_rebuilt(imagefolder_root):
    first = data.load_tensors(False, root=imagefolder_root)
    (cached,) = data.cache_dir().glob("cifar10_test_*.pt")
    intact = cached.read_bytes()
    cached.write_bytes(intact[: len(intact) // 2])
    again = data.load_tensors(False, root=imagefolder_root)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    torch.load(cached, weights_only=True)   # rewritten whole


def test_cache_is_readable_by_other_users(imagefolder_root):
    """The grading sandbox's unprivileged uid reads the cache the instructor built."""
    data.load_tensors(False, root=imagefolder_root)
    (cached,) = data.cache_dir().glob("cifar10_test_*.pt")
    assert cached.stat().st_mode & 0o044 == 0o044


def test_an_unwritable_cache_still_gives_the_data(imagefolder_root, fake_splits, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(data.CACHE_ENV, str(blocker / "cache"))   # cannot be created, even by root
    images, labels = data.load_tensors(False, root=imagefolder_root)
    assert len(labels) == len(fake_splits[1][1]) and images.dtype == torch.uint8


# --- the real CIFAR-10 ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_cifar10():
    """The shared copy, through the real cache (about a second once built)."""
    return data.load_tensors(True), data.load_tensors(False)


@requires_cifar10
def test_real_cifar10_has_50000_train_and_10000_test_images_in_10_classes(real_cifar10):
    (x_tr, y_tr), (x_te, y_te) = real_cifar10
    assert x_tr.shape == (50_000, 3, 32, 32) and x_te.shape == (10_000, 3, 32, 32)
    assert x_tr.dtype == torch.uint8
    assert torch.bincount(y_tr).tolist() == [50_000 // 10] * 10
    assert torch.bincount(y_te).tolist() == [10_000 // 10] * 10


@requires_cifar10
def test_real_cifar10_labels_follow_cifar10_order():
    assert list(CLASSES) == CIFAR10_LABEL_NAMES
    for train in (True, False):
        ds = data.cifar10_dataset(train)
        assert ds.class_to_idx == {name: i for i, name in enumerate(CIFAR10_LABEL_NAMES)}


@requires_cifar10
def test_real_cifar10_tensors_match_the_files_on_disk(real_cifar10):
    """Image i of the cache is sample i of torchvision's dataset, pixel for pixel."""
    (x_tr, y_tr), _ = real_cifar10
    ds = data.cifar10_dataset(True, transform=transforms.PILToTensor())
    for i in (0, 12_345, len(ds) - 1):
        image, label = ds[i]
        assert torch.equal(image, x_tr[i]) and label == y_tr[i]


@requires_cifar10
def test_real_cifar10_channel_statistics_match_the_normalisation_constants(real_cifar10):
    (x_tr, _), _ = real_cifar10
    pixels = x_tr.float().div_(255)
    mean = pixels.mean(dim=(0, 2, 3))
    std = pixels.std(dim=(0, 2, 3))
    # The JPEG recompression of the shared copy moves them by a few thousandths.
    assert torch.allclose(mean, torch.tensor(data.CIFAR10_MEAN), atol=0.01), mean
    assert torch.allclose(std, torch.tensor(data.CIFAR10_STD), atol=0.01), std


# --- stratified, seeded subsets -------------------------------------------------------------

def balanced_labels(per_class=50, classes=10, seed=0):
    return torch.randperm(per_class * classes, generator=torch.Generator().manual_seed(seed)) % classes


def test_subsets_are_stratified():
    labels = balanced_labels()
    idx = data.stratified_indices(labels, per_class=7, seed=0)
    assert torch.bincount(labels[idx], minlength=10).tolist() == [7] * 10
    assert len(set(idx.tolist())) == len(idx)


def test_same_seed_same_subset_different_seed_different_subset():
    labels = balanced_labels()
    a = data.stratified_indices(labels, 7, seed=0)
    assert torch.equal(a, data.stratified_indices(labels, 7, seed=0))
    assert not torch.equal(a, data.stratified_indices(labels, 7, seed=1))


def test_subset_of_named_classes_is_relabelled_in_the_given_order():
    labels = balanced_labels()
    ids = (CLASSES.index("ship"), CLASSES.index("cat"))
    idx = data.stratified_indices(labels, 5, seed=0, classes=ids)
    assert set(labels[idx].tolist()) == set(ids)


def test_asking_for_more_than_a_class_has_is_an_error():
    with pytest.raises(ValueError, match="requested"):
        data.stratified_indices(balanced_labels(per_class=3), per_class=4)


@requires_cifar10
def test_profile_subsets_of_real_cifar10():
    profile = get_profile("smoke")
    x, y = data.load_subset(True, profile.train_per_class, seed=0)
    assert len(y) == profile.train_size
    assert torch.bincount(y).tolist() == [profile.train_per_class] * 10
    x2, y2 = data.load_subset(True, profile.train_per_class, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    xs, ys = data.load_subset(False, 5, classes=("ship", "cat"))
    assert torch.bincount(ys).tolist() == [5, 5]
    full_x, full_y = data.load_tensors(False)
    ship = full_x[full_y == CLASSES.index("ship")]
    # Relabelled: 0 means ship here, and those images are ships in the full split.
    assert all((ship == img).flatten(1).all(1).any() for img in xs[ys == 0])


# --- normalisation and batched augmentation -------------------------------------------------

def test_normalize_standardises_and_denormalize_inverts():
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    z = data.normalize(x)
    assert z.dtype == torch.float32 and z.shape == x.shape
    expected = (x.float() / 255 - torch.tensor(data.CIFAR10_MEAN).view(1, 3, 1, 1)) / torch.tensor(data.CIFAR10_STD).view(1, 3, 1, 1)
    assert torch.allclose(z, expected, atol=1e-5)
    assert torch.allclose(data.denormalize(z), x.float() / 255, atol=1e-5)
    as_float = x.float()
    data.normalize(as_float)
    assert torch.equal(as_float, x.float()), "normalize must not change its input"


def crop_flip_one_by_one(images, padding, generator):
    """The definition, image by image, drawing the random numbers in the same order."""
    n, _, h, w = images.shape
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    return torch.where(flip[:, None, None, None], out.flip(3), out), dy, dx, flip


def test_batched_crop_and_flip_equal_the_per_image_definition():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    batched = data.random_crop_flip(images, padding=4, generator=torch.Generator().manual_seed(7))
    expected, dy, dx, flip = crop_flip_one_by_one(images, 4, torch.Generator().manual_seed(7))
    assert torch.equal(batched, expected)
    # and the draw really varies: several offsets and both flip outcomes in 64 images
    assert len(set(dy.tolist())) > 3 and len(set(dx.tolist())) > 3 and 0 < flip.sum() < 64


def test_augmentation_keeps_shape_and_dtype_and_changes_images():
    images = torch.randint(1, 256, (32, 3, 32, 32), dtype=torch.uint8)
    out = data.random_crop_flip(images, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    changed = (out != images).flatten(1).any(1)
    assert changed.float().mean() > 0.5


def test_augmentation_draws_from_the_generator():
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = data.random_crop_flip(images, generator=torch.Generator().manual_seed(1))
    b = data.random_crop_flip(images, generator=torch.Generator().manual_seed(1))
    c = data.random_crop_flip(images, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- TensorLoader ---------------------------------------------------------------------------

def small_set(n=100):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.arange(n) % 10


def test_eval_loader_keeps_order_and_covers_everything_once():
    x, y = small_set(100)
    loader = data.TensorLoader(x, y, batch_size=32, device="cpu")
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    xs = torch.cat([b[0] for b in batches])
    assert xs.dtype == torch.float32 and torch.allclose(xs, data.normalize(x))
    assert torch.equal(torch.cat([b[1] for b in batches]), y)


def test_train_loader_shuffles_each_epoch_reproducibly():
    x, y = small_set(100)
    loader = data.TensorLoader(x, y, batch_size=25, train=True, device="cpu", seed=3)
    first, second = (torch.cat([b for _, b in loader]) for _ in range(2))
    assert sorted(first.tolist()) == sorted(y.tolist())
    assert not torch.equal(first, second)
    again = data.TensorLoader(x, y, batch_size=25, train=True, device="cpu", seed=3)
    assert torch.equal(first, torch.cat([b for _, b in again]))


def test_drop_last_drops_the_short_batch():
    x, y = small_set(100)
    loader = data.TensorLoader(x, y, batch_size=32, train=True, device="cpu", drop_last=True)
    assert len(loader) == 3 and all(len(b) == 32 for _, b in loader)


def test_loader_leaves_the_thread_setting_as_it_was():
    threads = torch.get_num_threads()
    x, y = small_set(64)
    for _ in data.TensorLoader(x, y, batch_size=16, train=True, augment=True, device="cpu"):
        assert torch.get_num_threads() == threads   # the model runs with all threads
    assert torch.get_num_threads() == threads


@requires_cifar10
def test_cifar10_loaders_follow_the_profile():
    profile = get_profile("smoke")
    train, test = data.cifar10_loaders(profile, device="cpu")
    assert train.num_samples == profile.train_size and test.num_samples == profile.test_size
    assert train.augment and train.train and not test.augment
    x, y = next(iter(train))
    assert x.shape == (profile.batch_size, 3, 32, 32) and y.shape == (profile.batch_size,)
