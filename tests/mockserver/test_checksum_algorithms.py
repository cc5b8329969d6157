"""The ten x-amz-checksum-* algorithms: the runner's values (conformance.request.integrity) and the reference
server's incremental digests (mockserver.checksums) agree with each other, with botocore's own implementations
(httpchecksum: awscrt XXHash, hashlib, CRTs), and with values AWS returned (LocalStack's recordings, test_s3.py:
test_put_object_checksum for b"test data..", test_complete_multipart_parts_checksum_composite / _full_object for
two parts of 5 MiB + 1 b"a" and one of 10)."""
from __future__ import annotations

import base64

import pytest
from botocore import httpchecksum

from conformance.request import integrity
from mockserver import checksums

DATA = b"test data.."
PART, LAST = b"a" * (5 * 1024 * 1024 + 1), b"a" * 10

# Recorded by AWS (LocalStack snapshot test_s3.snapshot.json).
AWS_PUT = {"crc32": "cZWHwQ==", "crc32c": "Pf4upw==", "crc64nvme": "qUVrWYOrIAM=", "sha1": "B++3uSfJMSHWToQMQ1g6lIJY5Eo=",
           "sha256": "2l26x0trnT0r2AvakoFk2MB7eKVKzYESLMxSAKAzoik="}
AWS_COMPOSITE = {"crc32": "5FRUiw==-3", "crc32c": "XF5+4A==-3", "sha1": "AyE60nyQoBgJcwsyPHWu7aJuxBs=-3",
                 "sha256": "9o++y6AejqboiJ7MZCx0fahK2Vu5YC/qnNhhYsCLciI=-3"}
AWS_FULL_OBJECT = {"crc32": "qSEQSA==", "crc32c": "eTdAQA==", "crc64nvme": "ZMNX55lZurA="}
# Pinned values of the 2026 algorithms for b"hello" (canonical big-endian digests; xxhash and awscrt agree, MD5 is
# RFC 1321's): a library update that changed them would show here.
HELLO = {"xxhash64": "26c7827d889f6da3", "xxhash3": "9555e8555c62dcfd", "xxhash128": "b5e9c1ad071b3e7fc779cfaa5e523818",
         "md5": "5d41402abc4b2a76b9719d911017c592"}


def test_the_ten_algorithms_of_the_model():
    import botocore.session
    model = botocore.session.get_session().get_service_model("s3")
    enum = {v.lower() for v in model.shape_for("ChecksumAlgorithm").enum}
    assert enum == set(integrity.ALGORITHMS) == set(checksums.ALGORITHMS)
    members = model.shape_for("Checksum").members
    assert {checksums.XML_NAMES[a] for a in checksums.ALGORITHMS} <= set(members)


@pytest.mark.parametrize("algorithm", integrity.ALGORITHMS)
def test_runner_and_server_agree_incrementally(algorithm):
    data = bytes(range(256)) * 1000
    digest = checksums.new_digest(algorithm)
    for start in range(0, len(data), 7777):
        digest.update(memoryview(data)[start:start + 7777])
    raw = digest.digest()
    assert len(raw) == checksums.DIGEST_SIZES[algorithm]
    assert raw == integrity.checksum_digest(algorithm, data)


@pytest.mark.parametrize("algorithm", [a for a in integrity.ALGORITHMS if a in httpchecksum._CHECKSUM_CLS])
def test_values_are_what_botocore_sends(algorithm):
    expected = httpchecksum._CHECKSUM_CLS[algorithm]().handle(DATA * 100)
    assert integrity.checksum_value(algorithm, DATA * 100) == expected


@pytest.mark.parametrize("algorithm", sorted(HELLO))
def test_reference_vectors_of_the_2026_algorithms(algorithm):
    assert integrity.checksum_digest(algorithm, b"hello").hex() == HELLO[algorithm]


@pytest.mark.parametrize("algorithm", sorted(AWS_PUT))
def test_single_part_values_aws_recorded(algorithm):
    assert integrity.checksum_value(algorithm, DATA) == AWS_PUT[algorithm]
    digest = checksums.new_digest(algorithm)
    digest.update(DATA)
    assert checksums.b64(digest.digest()) == AWS_PUT[algorithm]


@pytest.mark.parametrize("algorithm", sorted(AWS_COMPOSITE))
def test_composite_value_aws_recorded(algorithm):
    parts = [integrity.checksum_digest(algorithm, p) for p in (PART, PART, LAST)]
    assert checksums.composite(algorithm, parts) == AWS_COMPOSITE[algorithm]


@pytest.mark.parametrize("algorithm", sorted(AWS_FULL_OBJECT))
def test_full_object_value_aws_recorded(algorithm):
    parts = [(integrity.checksum_digest(algorithm, p), len(p)) for p in (PART, PART, LAST)]
    assert checksums.b64(checksums.combine_crcs(algorithm, parts)) == AWS_FULL_OBJECT[algorithm]
    assert integrity.checksum_value(algorithm, PART + PART + LAST) == AWS_FULL_OBJECT[algorithm]


def test_full_object_only_for_crcs():
    for algorithm, types in checksums.MULTIPART_TYPES.items():
        assert ("FULL_OBJECT" in types) == (algorithm in checksums.CRC_ALGORITHMS)
        assert ("COMPOSITE" in types) == (algorithm != "crc64nvme")


@pytest.mark.parametrize("algorithm", integrity.ALGORITHMS)
def test_wrong_length_values_are_refused(algorithm):
    good = integrity.checksum_value(algorithm, DATA)
    assert checksums.decode_checksum_value(algorithm, good) == base64.b64decode(good)
    short = base64.b64encode(base64.b64decode(good)[:-1]).decode()
    with pytest.raises(Exception) as error:
        checksums.decode_checksum_value(algorithm, short)
    assert "invalid" in str(error.value)
