"""CopyObject, multipart uploads (checksums, errors, copies), GetObjectAttributes."""
from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from tests.mockserver.conftest import client_error, error_of

MIB = 1024 * 1024
SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing the "
             "object's metadata, storage class, website redirect location or encryption attributes.")


def test_copy_metadata_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/x", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="same-meta", CopySource={"Bucket": bucket, "Key": "src"})
    head = s3.head_object(Bucket=bucket, Key="same-meta")
    assert head["Metadata"] == {"a": "1"} and head["ContentType"] == "text/x"
    s3.copy_object(Bucket=bucket, Key="new-meta", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/y")
    head = s3.head_object(Bucket=bucket, Key="new-meta")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/y"
    assert s3.get_object(Bucket=bucket, Key="new-meta")["Body"].read() == b"payload"
    assert head["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'


def test_copy_between_buckets_and_missing_source(s3, bucket):
    other = bucket + "-2"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=bucket, Key="s", Body=b"cross")
    s3.copy_object(Bucket=other, Key="d", CopySource=f"{bucket}/s")
    assert s3.get_object(Bucket=other, Key="d")["Body"].read() == b"cross"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=other, Key="d", CopySource=f"{bucket}/nope")
    assert client_error(e.value)[:2] == (404, "NoSuchKey")


def test_copy_onto_itself(s3, bucket, raw):
    s3.put_object(Bucket=bucket, Key="me", Body=b"self")
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me"})
    assert r.status_code == 400
    assert error_of(r)["Code"] == "InvalidRequest" and error_of(r)["Message"] == SELF_COPY
    s3.copy_object(Bucket=bucket, Key="me", CopySource={"Bucket": bucket, "Key": "me"},
                   MetadataDirective="REPLACE", Metadata={"changed": "yes"})
    assert s3.head_object(Bucket=bucket, Key="me")["Metadata"] == {"changed": "yes"}
    # Naming the object's own storage class is a change S3 accepts (recorded: LocalStack
    # test_s3_copy_object_in_place_storage_class; test_s3_copy_object_in_place with ChecksumAlgorithm SHA256 too).
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me", "x-amz-storage-class": "STANDARD"})
    assert r.status_code == 200
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me", "x-amz-checksum-algorithm": "SHA256"})
    assert r.status_code == 400 and error_of(r)["Message"] == SELF_COPY    # a checksum alone: unrecorded, refused
    s3.copy_object(Bucket=bucket, Key="me", CopySource={"Bucket": bucket, "Key": "me"}, StorageClass="STANDARD_IA")
    s3.copy_object(Bucket=bucket, Key="me", CopySource={"Bucket": bucket, "Key": "me"},
                   ServerSideEncryption="aws:kms")
    assert s3.head_object(Bucket=bucket, Key="me")["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket=bucket, Key="me")["Body"].read() == b"self"


def test_copy_onto_itself_allowed_as_recorded(s3, bucket, raw):
    """AWS recordings (LocalStack test_s3_copy_object_in_place_with_encryption,
    test_copy_in_place_with_bucket_encryption): naming AES256 onto an AES256 object, copying an SSE-KMS object
    with no SSE parameters (it becomes AES256), and any copy in a bucket with an explicit encryption configuration."""
    s3.put_object(Bucket=bucket, Key="me", Body=b"self")
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me",
                                             "x-amz-server-side-encryption": "AES256"})
    assert r.status_code == 200 and r.headers["x-amz-server-side-encryption"] == "AES256"
    s3.put_object(Bucket=bucket, Key="kms", Body=b"kms", ServerSideEncryption="aws:kms")
    r = raw("PUT", f"/{bucket}/kms", headers={"x-amz-copy-source": f"/{bucket}/kms"})
    assert r.status_code == 200 and r.headers["x-amz-server-side-encryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="kms")["Body"].read() == b"kms"
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me"})
    assert r.status_code == 400 and error_of(r)["Message"] == SELF_COPY
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]})
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me"})
    assert r.status_code == 200 and r.headers["x-amz-server-side-encryption"] == "AES256"
    s3.delete_bucket_encryption(Bucket=bucket)      # back to the era's default: not explicit any more
    r = raw("PUT", f"/{bucket}/me", headers={"x-amz-copy-source": f"/{bucket}/me"})
    assert r.status_code == 400 and error_of(r)["Message"] == SELF_COPY


def test_copy_bad_directive(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="s", Body=b"x")
    r = raw("PUT", f"/{bucket}/d", headers={"x-amz-copy-source": f"/{bucket}/s", "x-amz-metadata-directive": "MOVE"})
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidArgument"


def _parts(sizes: list[int]) -> list[bytes]:
    return [os.urandom(n) for n in sizes]


def test_multipart_composite_crc32(s3, bucket):
    parts = _parts([5 * MIB, 5 * MIB, 1234])
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32", Metadata={"m": "v"})
    assert up["ChecksumAlgorithm"] == "CRC32"
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=data,
                           ChecksumAlgorithm="CRC32")
        assert r["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=up["UploadId"])
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts]
    result = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": done})
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert result["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    crcs = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    assert result["ChecksumCRC32"] == base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + "-3"
    assert result["ChecksumType"] == "COMPOSITE"
    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == whole and got["Metadata"] == {"m": "v"}
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * MIB}-{10 * MIB - 1}/{len(whole)}"
    ranged = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 10}")
    assert ranged["Body"].read() == whole[5 * MIB - 10:5 * MIB + 11]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="mp",
                                     ObjectAttributes=["ETag", "Checksum", "ObjectParts", "ObjectSize", "StorageClass"])
    assert attrs["ObjectSize"] == len(whole) and attrs["ObjectParts"]["TotalPartsCount"] == 3
    assert attrs["ETag"] == result["ETag"].strip('"')
    # GetObjectAttributes names a COMPOSITE checksum without its "-<parts>" suffix (recorded: LocalStack
    # test_complete_multipart_parts_checksum_composite[CRC32], get-object-attrs).
    assert attrs["Checksum"]["ChecksumCRC32"] + "-3" == result["ChecksumCRC32"]
    assert [p["Size"] for p in attrs["ObjectParts"]["Parts"]] == [len(p) for p in parts]


def test_multipart_full_object_crc64nvme(s3, bucket):
    parts = _parts([5 * MIB, 777])
    up = s3.create_multipart_upload(Bucket=bucket, Key="fo", ChecksumAlgorithm="CRC64NVME",
                                    ChecksumType="FULL_OBJECT")
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="fo", UploadId=up["UploadId"], PartNumber=n, Body=data,
                           ChecksumAlgorithm="CRC64NVME")
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    result = s3.complete_multipart_upload(Bucket=bucket, Key="fo", UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": done})
    whole = b"".join(parts)
    expected = base64.b64encode(crt.crc64nvme(whole).to_bytes(8, "big")).decode()
    assert result["ChecksumCRC64NVME"] == expected and result["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="fo", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected


def test_multipart_invalid_checksum_type(raw, bucket):
    r = raw("POST", f"/{bucket}/x", query="uploads",
            headers={"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"})
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"


def test_multipart_errors(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="e")
    uid = up["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=1, Body=b"tiny")
    last = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=2, Body=b"end")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]})
    assert client_error(e.value)[:2] == (400, "EntityTooSmall")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": last["ETag"]}, {"PartNumber": 1, "ETag": small["ETag"]}]})
    assert client_error(e.value)[:2] == (400, "InvalidPartOrder")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert client_error(e.value)[:2] == (400, "InvalidPart")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 3, "ETag": last["ETag"]}]})
    assert client_error(e.value)[:2] == (400, "InvalidPart")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="e")            # failed completions created nothing
    assert client_error(e.value)[0] == 404
    # A single small part is fine: the last part may be small.
    done = s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": small["ETag"]}]})
    assert done["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == b"tiny"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=3, Body=b"late")
    assert client_error(e.value)[:2] == (404, "NoSuchUpload")


def test_abort_and_list_uploads(s3, bucket):
    a = s3.create_multipart_upload(Bucket=bucket, Key="dir/a")["UploadId"]
    b = s3.create_multipart_upload(Bucket=bucket, Key="dir/b")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="other")
    listed = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
    assert {u["UploadId"] for u in listed["Uploads"]} == {a, b}
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["dir/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["other"]
    s3.abort_multipart_upload(Bucket=bucket, Key="dir/a", UploadId=a)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="dir/a", UploadId=a)
    assert client_error(e.value)[:2] == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="dir/a", UploadId=a)
    assert client_error(e.value)[:2] == (404, "NoSuchUpload")


def test_upload_part_copy(s3, bucket):
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    p2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "source"})
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source[:5 * MIB] + source
    with pytest.raises(ClientError) as e:
        uid2 = s3.create_multipart_upload(Bucket=bucket, Key="x")["UploadId"]
        s3.upload_part_copy(Bucket=bucket, Key="x", UploadId=uid2, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{7 * MIB}")
    assert client_error(e.value)[:2] == (400, "InvalidArgument")


def test_upload_part_checksum_mismatch_keeps_previous_part(raw, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"good", ChecksumAlgorithm="CRC32")
    bad = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    r = raw("PUT", f"/{bucket}/k", query=f"partNumber=1&uploadId={uid}", headers={"x-amz-checksum-crc32": bad},
            body=b"evil")
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    wrong_alg = base64.b64encode(hashlib.sha1(b"evil").digest()).decode()
    r = raw("PUT", f"/{bucket}/k", query=f"partNumber=1&uploadId={uid}", headers={"x-amz-checksum-sha1": wrong_alg},
            body=b"evil")
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert parts[0]["ETag"] == f'"{hashlib.md5(b"good").hexdigest()}"'


def test_get_object_attributes_single(s3, bucket, raw):
    s3.put_object(Bucket=bucket, Key="a", Body=b"attr", ChecksumAlgorithm="SHA256")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="a", ObjectAttributes=["ETag", "Checksum", "ObjectSize"])
    assert attrs["ETag"] == hashlib.md5(b"attr").hexdigest() and attrs["ObjectSize"] == 4
    assert attrs["Checksum"]["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"attr").digest()).decode()
    r = raw("GET", f"/{bucket}/a", query="attributes", headers={"x-amz-object-attributes": "Colour"})
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidArgument"


def test_list_multipart_uploads_pagination(s3, bucket):
    ids = [s3.create_multipart_upload(Bucket=bucket, Key="same")["UploadId"] for _ in range(3)]
    ids.append(s3.create_multipart_upload(Bucket=bucket, Key="later")["UploadId"])
    seen = []
    kwargs = {"Bucket": bucket, "MaxUploads": 1}
    for _ in range(10):
        page = s3.list_multipart_uploads(**kwargs)
        seen += [u["UploadId"] for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        kwargs.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
    assert sorted(seen) == sorted(ids) and len(seen) == 4


def test_complete_with_full_object_checksum_header(raw, s3, bucket):
    parts = [os.urandom(5 * MIB), os.urandom(10)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="fo", ChecksumAlgorithm="CRC32",
                                     ChecksumType="FULL_OBJECT")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="fo", UploadId=uid, PartNumber=n, Body=data,
                            ChecksumAlgorithm="CRC32")["ETag"] for n, data in enumerate(parts, 1)]
    body = ("<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1))
        + "</CompleteMultipartUpload>").encode()
    wrong = base64.b64encode(zlib.crc32(b"nope").to_bytes(4, "big")).decode()
    r = raw("POST", f"/{bucket}/fo", query=f"uploadId={uid}", body=body, headers={"x-amz-checksum-crc32": wrong})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    right = base64.b64encode(zlib.crc32(b"".join(parts)).to_bytes(4, "big")).decode()
    # the right value without x-amz-checksum-type is refused too (recorded: LocalStack
    # test_multipart_parts_checksum_exceptions_full_object, complete-part-only-checksum-algo; complete-success)
    r = raw("POST", f"/{bucket}/fo", query=f"uploadId={uid}", body=body, headers={"x-amz-checksum-crc32": right})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    assert error_of(r)["Message"] == "The crc32 you specified did not match the calculated checksum."
    r = raw("POST", f"/{bucket}/fo", query=f"uploadId={uid}", body=body,
            headers={"x-amz-checksum-crc32": right, "x-amz-checksum-type": "FULL_OBJECT"})
    assert r.status_code == 200, r.text
    assert f"<ChecksumCRC32>{right}</ChecksumCRC32>".encode() in r.content


def test_delete_objects_limit(raw, bucket):
    body = ("<Delete>" + "<Object><Key>k</Key></Object>" * 1001 + "</Delete>").encode()
    r = raw("POST", f"/{bucket}", query="delete", body=body,
            headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    assert r.status_code == 400 and error_of(r)["Code"] == "MalformedXML"


def _one_part_upload(s3, bucket: str, key: str, body: bytes, **create) -> tuple[str, dict]:
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)
    extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in create else {}
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=body, **extra)
    return up["UploadId"], part


def _complete_xml(etag: str, checksum: tuple[str, str] | None = None) -> bytes:
    sums = f"<{checksum[0]}>{checksum[1]}</{checksum[0]}>" if checksum else ""
    return (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>{sums}</Part>"
            "</CompleteMultipartUpload>").encode()


def test_complete_composite_needs_part_checksums(s3, bucket, raw):
    """Recorded (LocalStack test_complete_multipart_parts_checksum_composite, complete-multipart-no-checksum)."""
    upload_id, part = _one_part_upload(s3, bucket, "comp", b"data", ChecksumAlgorithm="CRC32", ChecksumType="COMPOSITE")
    r = raw("POST", f"/{bucket}/comp", query=f"uploadId={upload_id}", body=_complete_xml(part["ETag"]))
    assert r.status_code == 400 and error_of(r)["Code"] == "InvalidRequest"
    assert error_of(r)["Message"] == ("The upload was created using a crc32 checksum. The complete request must include "
                                      "the checksum for each part. It was missing for part 1 in the request.")
    r = raw("POST", f"/{bucket}/comp", query=f"uploadId={upload_id}",
            body=_complete_xml(part["ETag"], ("ChecksumCRC32", part["ChecksumCRC32"])))
    assert r.status_code == 200 and b"-1</ChecksumCRC32>" in r.content


def test_complete_checksum_header_forms(s3, bucket, raw):
    """COMPOSITE: '<base64>-<parts>' accepted, a wrong value BadDigest (ceph/s3-tests test_multipart_checksum_sha256);
    no checksum algorithm: the header is ignored (recorded, test_complete_multipart_parts_checksum_default)."""
    body = b"composite checksum part one"
    digest = hashlib.sha256(body).digest()
    composite = base64.b64encode(hashlib.sha256(digest).digest()).decode() + "-1"
    upload_id, part = _one_part_upload(s3, bucket, "sha", body, ChecksumAlgorithm="SHA256")
    xml = _complete_xml(part["ETag"], ("ChecksumSHA256", base64.b64encode(digest).decode()))
    r = raw("POST", f"/{bucket}/sha", query=f"uploadId={upload_id}", body=xml, headers={"x-amz-checksum-sha256": "bad"})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    r = raw("POST", f"/{bucket}/sha", query=f"uploadId={upload_id}", body=xml,
            headers={"x-amz-checksum-sha256": composite})
    assert r.status_code == 200 and f"<ChecksumSHA256>{composite}</ChecksumSHA256>".encode() in r.content
    # a repeated Complete answers like the first (ceph/s3-tests test_multipart_reupload_checksum_and_etag)
    again = raw("POST", f"/{bucket}/sha", query=f"uploadId={upload_id}", body=xml,
                headers={"x-amz-checksum-sha256": composite})
    assert again.status_code == 200 and again.content == r.content
    upload_id, part = _one_part_upload(s3, bucket, "plain", b"aaa")
    r = raw("POST", f"/{bucket}/plain", query=f"uploadId={upload_id}", body=_complete_xml(part["ETag"]),
            headers={"x-amz-checksum-crc32c": "AAAAAA==-2"})
    assert r.status_code == 200
    # a completed upload whose object was replaced is gone
    s3.put_object(Bucket=bucket, Key="plain", Body=b"other")
    r = raw("POST", f"/{bucket}/plain", query=f"uploadId={upload_id}", body=_complete_xml(part["ETag"]))
    assert r.status_code == 404 and error_of(r)["Code"] == "NoSuchUpload"


def test_complete_full_object_checksum_mismatch_names_the_upload_algorithm(s3, bucket, raw):
    """Recorded (test_multipart_parts_checksum_exceptions_full_object, complete-part-good-checksum-no-type)."""
    upload_id, part = _one_part_upload(s3, bucket, "full", b"abc", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    r = raw("POST", f"/{bucket}/full", query=f"uploadId={upload_id}",
            body=_complete_xml(part["ETag"], ("ChecksumCRC32C", part["ChecksumCRC32C"])),
            headers={"x-amz-checksum-crc32c": part["ChecksumCRC32C"] + "-1"})
    assert r.status_code == 400 and error_of(r)["Code"] == "BadDigest"
    assert error_of(r)["Message"] == "The crc32c you specified did not match the calculated checksum."


def test_complete_of_ssec_upload_has_no_ssec_headers():
    """botocore's CompleteMultipartUploadOutput has no SSE-C member; the AWS recording of an SSE-C Complete
    (test_multipart_upload_sse_c, complete-multipart-checksum) carries no SSE field."""
    from mockserver.server import running_server

    key = os.urandom(32)
    ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
            "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}
    with running_server(dialect="aws-2023", allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="ssec-complete")
        up = s3.create_multipart_upload(Bucket="ssec-complete", Key="k", **ssec)
        part = s3.upload_part(Bucket="ssec-complete", Key="k", UploadId=up["UploadId"], PartNumber=1, Body=b"x", **ssec)
        done = s3.complete_multipart_upload(Bucket="ssec-complete", Key="k", UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        headers = done["ResponseMetadata"]["HTTPHeaders"]
        assert not any(h.startswith("x-amz-server-side-encryption") for h in headers)
        assert s3.get_object(Bucket="ssec-complete", Key="k", **ssec)["Body"].read() == b"x"


def test_complete_checksum_fields_by_encryption(server, s3, bucket):
    """Recorded (LocalStack test_multipart_and_list_parts / test_s3_multipart_upload_sse): Complete of an upload
    created without a checksum algorithm names CRC64NVME FULL_OBJECT for SSE-S3, nothing for SSE-KMS (the object
    still has it); an explicit algorithm keeps its checksum in the answer."""
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]

    def complete(key, **create):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"test-sse")
        entry = {"ETag": part["ETag"], "PartNumber": 1}
        if "ChecksumCRC32" in part and create.get("ChecksumAlgorithm"):
            entry["ChecksumCRC32"] = part["ChecksumCRC32"]
        return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                            MultipartUpload={"Parts": [entry]})

    aes = complete("aes", ServerSideEncryption="AES256")
    assert aes["ChecksumCRC64NVME"] == "Kr7StX/uFlQ=" and aes["ChecksumType"] == "FULL_OBJECT"
    kms_done = complete("kms", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id, BucketKeyEnabled=True)
    assert "ChecksumCRC64NVME" not in kms_done and "ChecksumType" not in kms_done
    got = s3.get_object(Bucket=bucket, Key="kms", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == "Kr7StX/uFlQ=" and got["ChecksumType"] == "FULL_OBJECT"
    explicit = complete("kms-crc32", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id, ChecksumAlgorithm="CRC32")
    assert explicit["ChecksumType"] == "COMPOSITE" and explicit["ChecksumCRC32"].endswith("-1")


def test_ssec_multipart_get_names_no_default_checksum():
    """Recorded (LocalStack test_multipart_upload_sse_c, get-obj-sse-c): GET with checksum mode of an SSE-C
    multipart object created without a checksum algorithm names no checksum; a single-part SSE-C object does."""
    from mockserver.server import running_server

    with running_server(dialect="aws-2023", allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="ssec-get")
        _ssec_multipart_get(s3, "ssec-get")


def _ssec_multipart_get(s3, bucket):
    key = os.urandom(32)
    triple = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
              "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu", **triple)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=b"x" * 10, **triple)
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload,
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    got = s3.get_object(Bucket=bucket, Key="mpu", ChecksumMode="ENABLED", **triple)
    assert got["Body"].read() == b"x" * 10 and "ChecksumCRC64NVME" not in got and "ChecksumType" not in got
    s3.put_object(Bucket=bucket, Key="single", Body=b"x" * 10, **triple)
    single = s3.get_object(Bucket=bucket, Key="single", ChecksumMode="ENABLED", **triple)
    assert single["ChecksumType"] == "FULL_OBJECT"      # boto3 sent CRC32 with the PUT
