"""The Storage port: the same tests for both adapters, a local directory and S3 (moto's S3
server over HTTP, a fresh bucket per test)."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kino.media import storage as storage_module
from kino.media.errors import InvalidStorageKey
from kino.media.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    check_key,
    create_storage,
)
from kino.settings import Settings
from tests.s3_server import S3TestServer


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[LocalStorage | S3Storage]:
    adapter: LocalStorage | S3Storage
    if request.param == "local":
        adapter = LocalStorage(tmp_path / "media")
    else:
        s3: S3TestServer = request.getfixturevalue("s3_server")
        adapter = S3Storage.from_url(s3.storage_url(s3.create_bucket(), prefix="kino"))
    yield adapter
    await adapter.close()


def write_file(path: Path, size: int, *, seed: int = 7) -> bytes:
    """``size`` random bytes: a shifted or partial copy would not compare equal."""
    content = random.Random(seed).randbytes(size)
    path.write_bytes(content)
    return content


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_bytes_round_trip_and_replace(storage: Storage) -> None:
    await storage.put_bytes("assets/1/master.m3u8", b"#EXTM3U\n", content_type="audio/mpegurl")
    assert await storage.get_bytes("assets/1/master.m3u8") == b"#EXTM3U\n"
    await storage.put_bytes("assets/1/master.m3u8", b"#EXTM3U\n#v2\n")
    assert await storage.get_bytes("assets/1/master.m3u8") == b"#EXTM3U\n#v2\n"
    assert await storage.size("assets/1/master.m3u8") == len(b"#EXTM3U\n#v2\n")


async def test_missing_objects(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.get_bytes("assets/404/master.m3u8")
    with pytest.raises(ObjectNotFound):
        await storage.download("assets/404/master.m3u8", tmp_path / "copy")
    with pytest.raises(ObjectNotFound):
        await collect(storage.read("assets/404/master.m3u8"))
    assert await storage.size("assets/404/master.m3u8") is None
    assert not (tmp_path / "copy").exists()
    await storage.delete("assets/404/master.m3u8")  # no error


async def test_a_large_file_goes_in_and_comes_out_whole(storage: Storage, tmp_path: Path) -> None:
    # Larger than one S3 part (16 MiB): a multipart upload and a multipart download.
    content = write_file(tmp_path / "source.mp4", 17 * 1024 * 1024 + 5)
    await storage.put_file("sources/film.mp4", tmp_path / "source.mp4", content_type="video/mp4")
    assert (tmp_path / "source.mp4").exists()  # put_file copies unless told it may move
    assert await storage.size("sources/film.mp4") == len(content)
    await storage.download("sources/film.mp4", tmp_path / "fetched.mp4")
    assert (tmp_path / "fetched.mp4").read_bytes() == content
    assert await collect(storage.read("sources/film.mp4")) == content


async def test_put_file_with_move_gives_the_file_away(storage: Storage, tmp_path: Path) -> None:
    content = write_file(tmp_path / "upload.bin", 300_000)
    await storage.put_file("sources/uploads/abc", tmp_path / "upload.bin", move=True)
    assert not (tmp_path / "upload.bin").exists()
    assert await storage.get_bytes("sources/uploads/abc") == content


async def test_local_move_is_a_rename(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    write_file(tmp_path / "upload.bin", 1000)
    inode = os.stat(tmp_path / "upload.bin").st_ino
    await storage.put_file("sources/uploads/abc", tmp_path / "upload.bin", move=True)
    stored = storage.local_path("sources/uploads/abc")
    assert stored == tmp_path / "media" / "sources" / "uploads" / "abc"
    assert os.stat(stored).st_ino == inode  # the same file, not a copy


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, slice(0, None)),
        (0, 0, slice(0, 1)),
        (10, 19, slice(10, 20)),
        (2_000_000, None, slice(2_000_000, None)),
        (1_500_000, 2_600_000, slice(1_500_000, 2_600_001)),
        (2_999_999, 5_000_000, slice(2_999_999, None)),
        (3_000_000, None, slice(0, 0)),
    ],
)
async def test_ranged_reads(
    storage: Storage, tmp_path: Path, start: int, end: int | None, expected: slice
) -> None:
    content = write_file(tmp_path / "segment.m4s", 3_000_000)
    await storage.put_file("assets/1/v0/segment.m4s", tmp_path / "segment.m4s")
    read = storage.read("assets/1/v0/segment.m4s", start=start, end=end)
    chunks = [chunk async for chunk in read]
    assert b"".join(chunks) == content[expected]
    assert all(len(chunk) <= 1024 * 1024 for chunk in chunks)  # streamed, not read whole


async def test_list_and_delete_prefix(storage: Storage, tmp_path: Path) -> None:
    for key in ["assets/1/a.m4s", "assets/1/v0/b.m4s", "assets/12/c.m4s", "sources/d"]:
        await storage.put_bytes(key, key.encode())
    assert await storage.list("assets/1/") == ["assets/1/a.m4s", "assets/1/v0/b.m4s"]
    assert await storage.list("assets/1") == [
        "assets/1/a.m4s",
        "assets/1/v0/b.m4s",
        "assets/12/c.m4s",
    ]
    assert await storage.list("") == [
        "assets/1/a.m4s",
        "assets/1/v0/b.m4s",
        "assets/12/c.m4s",
        "sources/d",
    ]
    assert await storage.list("nothing/") == []
    assert await storage.delete_prefix("assets/1/") == 2
    assert await storage.list("") == ["assets/12/c.m4s", "sources/d"]
    await storage.delete("sources/d")
    assert await storage.list("") == ["assets/12/c.m4s"]


async def test_list_and_delete_prefix_page_through_many_objects(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # S3 lists and deletes 1000 keys a request; smaller pages show the paging on a few keys.
    monkeypatch.setattr(storage_module, "S3_LIST_PAGE", 4)
    monkeypatch.setattr(storage_module, "S3_DELETE_BATCH", 4)
    keys = [f"assets/9/seg{index:05}.m4s" for index in range(11)]
    for key in keys:
        await storage.put_bytes(key, b"x")
    assert await storage.list("assets/9/") == keys
    assert await storage.delete_prefix("assets/9/") == len(keys)
    assert await storage.list("assets/") == []


async def test_put_directory(storage: Storage, tmp_path: Path) -> None:
    output = tmp_path / "hls"
    (output / "v0").mkdir(parents=True)
    (output / "master.m3u8").write_bytes(b"master")
    (output / "v0" / "init.mp4").write_bytes(b"init")
    keys = await storage.put_directory("assets/5/", output)
    assert sorted(keys) == ["assets/5/master.m3u8", "assets/5/v0/init.mp4"]
    assert await storage.get_bytes("assets/5/v0/init.mp4") == b"init"


async def test_local_path_only_for_a_directory(storage: Storage) -> None:
    await storage.put_bytes("assets/1/poster.jpg", b"jpeg")
    path = storage.local_path("assets/1/poster.jpg")
    if isinstance(storage, LocalStorage):
        assert path is not None
        assert path.read_bytes() == b"jpeg"
    else:
        assert path is None


async def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    await storage.put_bytes("assets/1/a", b"a")
    await storage.put_bytes("assets/1/a", b"b")
    write_file(tmp_path / "f", 10)
    await storage.put_file("assets/1/f", tmp_path / "f")
    assert sorted(path.name for path in (tmp_path / "media" / "assets" / "1").iterdir()) == [
        "a",
        "f",
    ]
    await storage.delete_prefix("assets/")
    assert list((tmp_path / "media").iterdir()) == []  # emptied folders go too


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "assets/../../outside",
        "assets/./x",
        "assets//x",
        "assets/x/",
        "assets\\x",
        "assets/x\x00y",
        "assets/x\ny",
        "assets/\x7f",
        "a" * 1025,
    ],
)
async def test_keys_that_could_leave_the_root_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        check_key(key)
    with pytest.raises(InvalidStorageKey):
        await storage.put_bytes(key, b"x")
    with pytest.raises(InvalidStorageKey):
        await storage.get_bytes(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)


async def test_prefixes_that_could_leave_the_root_are_refused(storage: Storage) -> None:
    for prefix in ["../", "/", "assets/../../", "assets//"]:
        with pytest.raises(InvalidStorageKey):
            await storage.list(prefix)
        with pytest.raises(InvalidStorageKey):
            await storage.delete_prefix(prefix)


async def test_create_storage_reads_the_url(tmp_path: Path, s3_server: S3TestServer) -> None:
    default = create_storage(Settings(data_dir=tmp_path))
    assert isinstance(default, LocalStorage)
    assert default.root == tmp_path / "media"

    directory = create_storage(Settings(data_dir=tmp_path, storage_url=f"file://{tmp_path}/m"))
    assert isinstance(directory, LocalStorage)
    assert directory.root == tmp_path / "m"

    bucket = s3_server.create_bucket()
    s3 = create_storage(Settings(storage_url=s3_server.storage_url(bucket, prefix="p/q")))
    assert isinstance(s3, S3Storage)
    await s3.put_bytes("k", b"v")
    listed = s3_server.client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["p/q/k"]
    await s3.close()


async def test_s3_credentials_come_from_the_environment_when_the_url_has_none(
    s3_server: S3TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.s3_server import ACCESS_KEY, SECRET_KEY

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    bucket = s3_server.create_bucket()
    url = s3_server.storage_url(bucket).replace(f"{ACCESS_KEY}:{SECRET_KEY}@", "")
    storage = S3Storage.from_url(url)
    credentials = storage.client._request_signer._credentials  # what boto3 found
    assert credentials.access_key == ACCESS_KEY
    await storage.put_bytes("k", b"v")
    assert await storage.get_bytes("k") == b"v"
    await storage.close()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/media",
        "media",
        "file://relative/path",
        "s3://",
        "s3://user@bucket",
        "s3://bucket?endpoint=http://x",
    ],
)
def test_bad_storage_urls_are_refused_clearly(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="KINO_STORAGE_URL"):
        create_storage(Settings(data_dir=tmp_path, storage_url=url))
