"""What only the file backend of the blob store does: a disk that fails under a writer."""
import os

import pytest

from shared.blobs import FileBlobStore
from tests.support.blobstores import contents


def test_a_failing_disk_write_is_raised_and_leaves_nothing(tmp_path):
    store = FileBlobStore(tmp_path / "blobs")
    with pytest.raises(OSError):
        with store.writer() as writer:
            writer.write(os.urandom(3 * 1024 * 1024))
            read_only = os.open(os.devnull, os.O_RDONLY)
            os.dup2(read_only, writer._file.fileno())  # the disk is gone: every write fails (EBADF)
            os.close(read_only)
            for _ in range(8):
                writer.write(os.urandom(1024 * 1024))
            writer.commit()
    assert contents(store) == {}
