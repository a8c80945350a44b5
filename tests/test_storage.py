import io

import pytest

from server.storage import UploadStore


def test_same_bytes_are_stored_once_by_hash(tmp_path):
    store = UploadStore(tmp_path)
    a = store.put(b"hello", ".wav")
    b = store.put(b"hello", ".wav")
    assert a == b == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert store.read(a, ".wav") == b"hello"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name == f"{a}.wav"


def test_streamed_put_leaves_no_temporary_files(tmp_path):
    store = UploadStore(tmp_path)
    sha, path = store.put_stream(io.BytesIO(b"x" * 3_000_000), ".csv")
    assert path.read_bytes() == b"x" * 3_000_000
    assert list((tmp_path / "tmp").iterdir()) == []


def test_paths_cannot_escape_the_store(tmp_path):
    store = UploadStore(tmp_path)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd", ".wav")
    with pytest.raises(ValueError):
        store.path("a" * 64, "/x")
