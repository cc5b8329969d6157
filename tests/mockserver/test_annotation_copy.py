"""CopyObject and object annotations (botocore 1.44's CopyObject AnnotationDirective, header
x-amz-object-annotation-directive: "If this header isn't specified, COPY is the default behavior."):
mockserver/handlers/annotations.AnnotationCopy, used by mockserver/handlers/copy.py."""
from __future__ import annotations

import os
from typing import Any

import botocore.exceptions
import pytest

from mockserver.server import running_server
from tests.mockserver.conftest import Raw, client_error


def _annotate(s3: Any, bucket: str, key: str, **names: bytes) -> None:
    for name, payload in names.items():
        s3.put_object_annotation(Bucket=bucket, Key=key, AnnotationName=name, AnnotationPayload=payload)


def _annotations(s3: Any, bucket: str, key: str, **kw: Any) -> dict[str, bytes]:
    listed = s3.list_object_annotations(Bucket=bucket, Key=key, **kw).get("Annotations", [])
    return {a["AnnotationName"]: s3.get_object_annotation(Bucket=bucket, Key=key, AnnotationName=a["AnnotationName"],
                                                          **kw)["AnnotationPayload"].read() for a in listed}


def test_copy_copies_annotations_by_default(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"object")
    _annotate(s3, bucket, "src", label=b'{"class": "cat"}', other=b"x")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert _annotations(s3, bucket, "dst") == {"label": b'{"class": "cat"}', "other": b"x"}
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"}, AnnotationDirective="COPY")
    assert _annotations(s3, bucket, "dst2") == {"label": b'{"class": "cat"}', "other": b"x"}
    # the copies are the destination's own: deleting one leaves the source's
    s3.delete_object_annotation(Bucket=bucket, Key="dst", AnnotationName="label")
    assert set(_annotations(s3, bucket, "src")) == {"label", "other"}


def test_exclude_and_bad_directive(s3: Any, raw: Raw, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"object")
    _annotate(s3, bucket, "src", label=b"x")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, AnnotationDirective="EXCLUDE")
    assert _annotations(s3, bucket, "dst") == {}
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"object"
    # the query-string form (its name is not documented: the header's name is taken)
    resp = raw("PUT", f"/{bucket}/dst3", query="x-amz-object-annotation-directive=EXCLUDE",
               headers={"x-amz-copy-source": f"/{bucket}/src"})
    assert resp.status_code == 200, resp.text
    assert _annotations(s3, bucket, "dst3") == {}
    resp = raw("PUT", f"/{bucket}/dst4", headers={"x-amz-copy-source": f"/{bucket}/src",
                                                  "x-amz-object-annotation-directive": "MOVE"})
    assert resp.status_code == 400 and b"<Code>InvalidArgument</Code>" in resp.content
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="dst4")


def test_copied_annotations_take_the_destination_encryption(server: Any, s3: Any, bucket: str) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"object", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    _annotate(s3, bucket, "src", label=b"secret")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   ServerSideEncryption="AES256")
    got = s3.get_object_annotation(Bucket=bucket, Key="dst", AnnotationName="label")
    assert got["ServerSideEncryption"] == "AES256" and got["AnnotationPayload"].read() == b"secret"
    # with the source's KMS key disabled, the copy cannot read the source's annotations: refused before it writes
    kms.disable_key(KeyId=key_id)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                       ServerSideEncryption="AES256")
    assert client_error(exc.value)[:2] == (400, "KMS.DisabledException")
    kms.enable_key(KeyId=key_id)
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="dst2")


def test_copy_in_place_keeps_annotations(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"object")
    _annotate(s3, bucket, "k", label=b"x")
    s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"}, MetadataDirective="REPLACE",
                   Metadata={"a": "b"})
    assert _annotations(s3, bucket, "k") == {"label": b"x"}
    s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"}, MetadataDirective="REPLACE",
                   Metadata={"a": "c"}, AnnotationDirective="EXCLUDE")
    assert _annotations(s3, bucket, "k") == {}


def test_sse_c_destination_with_annotations_refused(bucket: str) -> None:
    with running_server(allow_sse_c_over_http=True) as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{   # SSE-C unblocked
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BlockedEncryptionTypes": {
                "EncryptionType": ["NONE"]}}]})
        s3.put_object(Bucket=bucket, Key="src", Body=b"object")
        _annotate(s3, bucket, "src", label=b"x")
        key = os.urandom(32)
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                           SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        assert client_error(exc.value)[:2] == (400, "InvalidRequest")
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key="dst")
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       SSECustomerAlgorithm="AES256", SSECustomerKey=key, AnnotationDirective="EXCLUDE")


def test_copied_annotations_persist(tmp_path: Any) -> None:
    with running_server(data_dir=str(tmp_path)) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bkt-copy")
        s3.put_object(Bucket="bkt-copy", Key="src", Body=b"object")
        _annotate(s3, "bkt-copy", "src", label=b"kept")
        s3.copy_object(Bucket="bkt-copy", Key="dst", CopySource={"Bucket": "bkt-copy", "Key": "src"})
    with running_server(data_dir=str(tmp_path)) as server:
        assert _annotations(server.client("s3"), "bkt-copy", "dst") == {"label": b"kept"}
