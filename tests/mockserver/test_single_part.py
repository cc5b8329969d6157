"""ObjectVersion(single_part=...) (write_object's path) keeps what ObjectVersion(parts=[that Part]) keeps."""
from __future__ import annotations

import pytest

from mockserver.storage.base import ObjectVersion, Part

SSE = {"v": 1, "mode": "sse-s3", "alg": "AES256", "bind": {"id": "AAAAAAAAAAAAAAAA", "bucket": "b", "key": "k"},
       "wrapped": "A" * 80}


@pytest.mark.parametrize(("blob", "inline"), [("", b"stored bytes"), ("", b""), ("0f" * 16, None)])
def test_single_part_is_the_compacted_part(blob, inline):
    checksum = {"algorithm": "crc64nvme", "value": "cxGLQto3O2Y=", "type": "FULL_OBJECT"}
    common = {"key": "k", "version_id": "null", "last_modified": 12.5, "owner_id": "111122223333", "size": 12,
              "etag": "7265f4d211b56873a381d321f586e4a9", "checksum": checksum, "sse": SSE}
    part = Part(1, blob, 12, common["etag"], {"crc64nvme": checksum["value"]}, 12.5, inline)
    built = ObjectVersion(**common, parts=[part])
    single = ObjectVersion(**common, single_part=inline if inline is not None else blob)
    assert single == built
    assert single.to_json() == built.to_json()
    assert single.parts == built.parts == [part]
    assert single.blob_ids() == built.blob_ids()
