"""Model files: written whole or not at all, and never left behind for a version that is not
registered."""

import threading
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from scoring.model_files import sha256_hex, write_atomic
from scoring.models import ModelVersion
from scoring.training.train import model_file_register


def test_a_reader_sees_the_old_file_or_the_whole_new_one_never_a_part(tmp_path):
    path = tmp_path / "model.txt"
    versions = [bytes([65 + i]) * 4_000_000 for i in range(2)]
    write_atomic(path, [versions[0]])
    seen: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            data = path.read_bytes()
            seen.add(versions.index(data) if data in versions else -1)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            # In chunks, so that a non-atomic write would show a reader half of a file.
            new = versions[(i + 1) % 2]
            write_atomic(path, (new[at : at + 65536] for at in range(0, len(new), 65536)))
    finally:
        done.set()
        reader.join()

    assert -1 not in seen
    assert seen == {0, 1}


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "model.txt"
    write_atomic(path, [b"old model"])

    def chunks():
        yield b"half of a new"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, chunks())

    assert path.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]


def _version(name: str, path: Path, sha256: str) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name, path=str(path), sha256=sha256, features=[], calibration={"x": [], "y": []},
        trained_from="2026-08-01T00:00:00Z", trained_until="2026-08-25T00:00:00Z",
        data_hash="0" * 64,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_registered_model_file_has_the_sha256_of_its_bytes(tmp_path):
    path = tmp_path / "m-1.txt"

    version = model_file_register(b"tree", path, lambda sha: _version("m-1", path, sha))

    assert version.sha256 == sha256_hex(path.read_bytes()) == sha256_hex(b"tree")


@pytest.mark.django_db
def test_a_model_file_is_removed_when_its_version_cannot_be_registered(tmp_path):
    _version("m-taken", tmp_path / "other.txt", "0" * 64)
    path = tmp_path / "m-taken-2.txt"

    with pytest.raises(IntegrityError):
        model_file_register(b"tree", path, lambda sha: _version("m-taken", path, sha))

    assert list(tmp_path.iterdir()) == []
    assert ModelVersion.objects.count() == 1


BEFORE, AFTER = ("scoring", "0005_drift_report"), ("scoring", "0006_model_version_sha256")


@pytest.mark.django_db(transaction=True)
def test_the_migration_backfills_the_sha256_of_the_files_registered_before_it(tmp_path):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps.get_model("scoring", "ModelVersion")
    present = tmp_path / "present.txt"
    present.write_bytes(b"tree")
    fields = {
        "features": [], "calibration": {}, "data_hash": "0" * 64,
        "trained_from": "2026-08-01T00:00:00Z", "trained_until": "2026-08-25T00:00:00Z",
    }  # fmt: skip
    old.objects.create(name="present", path=str(present), **fields)
    old.objects.create(name="gone", path=str(tmp_path / "gone.txt"), **fields)

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([AFTER])
        hashes = dict(ModelVersion.objects.values_list("name", "sha256"))
    finally:
        # Back to the whole schema: the tests after this one (and other apps' migrations that
        # going back to BEFORE unapplied) expect it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert hashes == {"present": sha256_hex(b"tree"), "gone": ""}
