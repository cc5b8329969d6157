"""A seeded fuzzer over every request surface of the mock server (issue 10, "Done when"): XML bodies
(PutBucketEncryption, CompleteMultipartUpload, DeleteObjects, PutBucketVersioning), headers (SSE, SSE-KMS, SSE-C,
checksums, conditions, copy source, ranges), query parameters, aws-chunked framing, KMS JSON and POST forms.

Requests start from a valid request and are mutated; most are validly signed (botocore SigV4, the form policy
with the runner's own signing) so that the fuzzing reaches the handlers. The run fails on any 5xx, on a request
the server does not answer within the client timeout, and on an error or traceback in the server's log (S3's
deliberate 501 NotImplemented for functionality it does not offer is an answer, not a failure); after it,
objects stored before the run are byte-identical.

The budget is S3C_FUZZ_REQUESTS requests (default 5,000; CI runs the default) from the seed S3C_FUZZ_SEED
(default fixed), against an in-process server of its own. A failure names the seed and the request's index:
`S3C_FUZZ_SEED=<seed> S3C_FUZZ_REQUESTS=<index + 1>` replays up to it."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import os
import random
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from conformance.request import postform, signing
from mockserver.server import RunningServer, running_server

from .wire import Wire

BUDGET = int(os.environ.get("S3C_FUZZ_REQUESTS", "5000"))
SEED = int(os.environ.get("S3C_FUZZ_SEED", "20261205"))
TIMEOUT = 15.0          # seconds a request may take before it counts as a hang
TIME_LIMIT = 60.0       # CI: the default budget must fit in this on two busy cores

BUCKET = "fuzz"
VICTIMS = {"victim-plain": b"precious plain bytes " * 7, "victim-sse-s3": b"precious encrypted bytes " * 9}
KEYS = ["k", "a/b", "dir/", "x" * 300, "ü-key", "k%2F", "..", "k?x", "sp ace", "kms-obj", "ssec-obj", "mpu"]


# ----------------------------------------------------------------- mutation primitives
WEIRD_NUMBERS = ["0", "-1", "1", "10000", "10001", "2147483648", "9" * 40, "9" * 5000, "\u00b2", "\u0661", "\uff11",
                 "1e3", "0x10", " 1", "1 ", "", "+1", "1.5", "NaN", "\u0000", "01"]
WEIRD_STRINGS = ["", " ", "\u0000", "a\u0000b", "\ud7ff", "\u202e", "é", "€" * 100, "A" * 3000, "<x/>", "&amp;",
                 "]]>", "%", "%zz", "%00", "\\", "'", '"', "\t", "null", "true", "[]", "{}", "AES256", "aws:kms",
                 "aws:kms:dsse", "arn:aws:kms:us-east-1:111122223333:key/nope", "alias/aws/s3"]


def weird(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(WEIRD_STRINGS)
    if roll < 0.8:
        return rng.choice(WEIRD_NUMBERS)
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xd7ff)]))
                   for _ in range(rng.randrange(1, 40)))


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """A few byte-level edits: flips, cuts, duplications, insertions of syntax."""
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        if not data:
            data += rng.choice([b"<", b"{", b"\xff", b"0"])
            continue
        op = rng.randrange(6)
        i = rng.randrange(len(data))
        if op == 0:
            data[i] = rng.randrange(256)
        elif op == 1:
            del data[i:i + rng.randrange(1, 64)]
        elif op == 2:
            j = rng.randrange(i, min(len(data), i + 200) + 1)
            data[i:i] = data[i:j] * rng.randrange(1, 5)
        elif op == 3:
            data[i:i] = rng.choice([b"<", b">", b"</", b"&", b"&amp;", b"<!--", b"]]>", b'"', b"\x00", b"\xc3",
                                    b"\r\n", b"{", b"}", b"[", b",", b":", b"\\u0000", b"<![CDATA[", b"&#0;"])
        elif op == 4:
            data = data[:i]
        else:
            data[i:i] = weird(rng).encode("utf-8", "surrogatepass")
    return bytes(data)


def mutate_xml(rng: random.Random, document: str) -> bytes:
    """Structure-aware edits of a valid document (element values, dropped or repeated elements), sometimes
    followed by byte-level edits; a fifth of the documents is left valid."""
    roll = rng.random()
    if roll < 0.2:
        return document.encode()
    if roll < 0.45:
        values = list(re.finditer(r">([^<>]*)</", document))
        if values:
            m = rng.choice(values)
            document = document[:m.start(1)] + weird(rng).replace("<", "&lt;").replace("&", "&amp;") + document[m.end(1):]
    elif roll < 0.6:
        elements = list(re.finditer(r"<(\w+)>(?:(?!<\1>).)*?</\1>", document, re.DOTALL))
        if elements:
            m = rng.choice(elements)
            document = document[:m.start()] + (m.group(0) * rng.choice([0, 2, 3, 1000])) + document[m.end():]
    elif roll < 0.68:
        tags = list(re.finditer(r"<(/?)(\w+)", document))
        if tags:
            m = rng.choice(tags)
            document = document[:m.start(2)] + rng.choice(["x", m.group(2).lower(), m.group(2) + "s", "a:b"]) \
                + document[m.end(2):]
    elif roll < 0.74:
        document = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">'
                    '<!ENTITY b "bbbbbbbbbbbbbbbbbbbbbbbb">]>' + document.replace(">", ">&e;&b;", 1))
    encoded = document.encode("utf-8", "surrogatepass")
    return mutate_bytes(rng, encoded) if rng.random() < 0.3 else encoded


# ----------------------------------------------------------------- requests
@dataclass
class Req:
    method: str
    target: str                                   # path + query, already encoded as sent
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    sign: str = "s3"                              # s3 | kms | none | bad
    payload: str | None = None                    # x-amz-content-sha256 to sign with (None: the body's hash)
    surface: str = ""


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Generator:
    def __init__(self, rng: random.Random, state: dict[str, Any], server: RunningServer) -> None:
        self.rng = rng
        self.state = state
        self.server = server
        c = server.credentials["main"]
        self.keys = signing.Keys(c["access_key"], c["secret_key"])

    def key(self) -> str:
        return self.rng.choice(KEYS)

    def path(self, key: str | None = None) -> str:
        from urllib.parse import quote

        return f"/{BUCKET}/" + quote(key if key is not None else self.key(), safe="/~")

    def maybe_headers(self, headers: list[tuple[str, str]], pool: list[tuple[str, Callable[[], str]]]) -> None:
        for name, value in pool:
            if self.rng.random() < 0.25:
                headers.append((name, value()))

    # --- XML bodies
    def put_bucket_encryption(self) -> Req:
        algorithm = self.rng.choice(["AES256", "aws:kms", "aws:kms:dsse", "aws:fsx"])
        key_id = self.rng.choice(self.state["kms_keys"]) if self.rng.random() < 0.9 else "nope"
        key = f"<KMSMasterKeyID>{key_id}</KMSMasterKeyID>" \
            if algorithm != "AES256" or self.rng.random() < 0.2 else ""
        doc = (f'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
               f"<ApplyServerSideEncryptionByDefault><SSEAlgorithm>{algorithm}</SSEAlgorithm>{key}"
               f"</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>"
               f"<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes></Rule>"
               f"</ServerSideEncryptionConfiguration>")
        body = mutate_xml(self.rng, doc)
        return Req("PUT", f"/{BUCKET}?encryption", [("Content-MD5", md5_b64(body))], body, surface="xml-encryption")

    def put_versioning(self) -> Req:
        status = self.rng.choice(["Enabled", "Suspended", "enabled", ""])
        doc = (f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>{status}</Status>'
               f"<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>")
        body = mutate_xml(self.rng, doc)
        # the fuzz bucket's versioning is left alone in most requests: suspended/enabled both keep the victims
        return Req("PUT", f"/{BUCKET}?versioning", [("Content-MD5", md5_b64(body))], body, surface="xml-versioning")

    def delete_objects(self) -> Req:
        objects = "".join(f"<Object><Key>{self.rng.choice(KEYS).replace('&', '&amp;')}</Key>"
                          f"{'<VersionId>null</VersionId>' if self.rng.random() < 0.2 else ''}</Object>"
                          for _ in range(self.rng.randrange(1, 5)))
        doc = f"<Delete><Quiet>{self.rng.choice(['true', 'false'])}</Quiet>{objects}</Delete>"
        body = mutate_xml(self.rng, doc)
        headers = [("Content-MD5", md5_b64(body))] if self.rng.random() < 0.8 else \
            [("x-amz-checksum-crc32", base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode())]
        return Req("POST", f"/{BUCKET}?delete", headers, body, surface="xml-delete")

    def complete_multipart(self) -> Req:
        uploads = self.state["uploads"]
        key, upload_id = self.rng.choice(uploads) if uploads else ("mpu", "no-such-upload")
        parts = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>\"{self.rng.choice(self.state['etags'])}\"</ETag>"
                        f"</Part>" for n in range(1, self.rng.randrange(1, 4)))
        body = mutate_xml(self.rng, f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
        upload = upload_id if self.rng.random() < 0.9 else weird(self.rng)
        from urllib.parse import quote

        return Req("POST", f"{self.path(key)}?uploadId={quote(upload, safe='')}", [], body, surface="xml-complete")

    def create_multipart(self) -> Req:
        headers: list[tuple[str, str]] = []
        self.sse_headers(headers)
        return Req("POST", f"{self.path('mpu')}?uploads", headers, b"", surface="create-mpu")

    def upload_part(self) -> Req:
        uploads = self.state["uploads"]
        key, upload_id = self.rng.choice(uploads) if uploads else ("mpu", "x")
        number = self.rng.choice(["1", "2", "3"]) if self.rng.random() < 0.7 else weird(self.rng)
        from urllib.parse import quote

        headers: list[tuple[str, str]] = []
        self.checksum_headers(headers, b"p" * 100)
        return Req("PUT", f"{self.path(key)}?partNumber={quote(number, safe='')}&uploadId={quote(upload_id, safe='')}",
                   headers, b"p" * 100, surface="upload-part")

    # --- headers
    def sse_headers(self, headers: list[tuple[str, str]]) -> None:
        rng = self.rng
        sse_c_key = rng.choice([b"k" * 32, b"k" * 31, b"", b"\xff" * 32, b"k" * 64])
        self.maybe_headers(headers, [
            ("x-amz-server-side-encryption", lambda: rng.choice(["AES256", "aws:kms", "aws:kms:dsse", "aes256",
                                                                  weird(rng)])),
            ("x-amz-server-side-encryption-aws-kms-key-id",
             lambda: rng.choice(self.state["kms_keys"] + ["alias/aws/s3", weird(rng)])),
            ("x-amz-server-side-encryption-context",
             lambda: rng.choice([base64.b64encode(json.dumps({"a": weird(rng)}).encode()).decode(), weird(rng),
                                 base64.b64encode(b"[1]").decode(), base64.b64encode(b"\xff").decode()])),
            ("x-amz-server-side-encryption-bucket-key-enabled", lambda: rng.choice(["true", "false", weird(rng)])),
            ("x-amz-server-side-encryption-customer-algorithm", lambda: rng.choice(["AES256", "AES128", weird(rng)])),
            ("x-amz-server-side-encryption-customer-key",
             lambda: rng.choice([base64.b64encode(sse_c_key).decode(), weird(rng)])),
            ("x-amz-server-side-encryption-customer-key-MD5",
             lambda: rng.choice([md5_b64(sse_c_key), weird(rng)])),
        ])

    def checksum_headers(self, headers: list[tuple[str, str]], body: bytes) -> None:
        rng = self.rng
        good_crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        self.maybe_headers(headers, [
            ("Content-MD5", lambda: rng.choice([md5_b64(body), md5_b64(b"other"), weird(rng)])),
            ("x-amz-checksum-crc32", lambda: rng.choice([good_crc, weird(rng)])),
            ("x-amz-checksum-crc32c", lambda: weird(rng)),
            ("x-amz-checksum-crc64nvme", lambda: weird(rng)),
            ("x-amz-checksum-sha256", lambda: rng.choice([base64.b64encode(hashlib.sha256(body).digest()).decode(),
                                                           weird(rng)])),
            ("x-amz-sdk-checksum-algorithm", lambda: rng.choice(["CRC32", "SHA1", "crc32", weird(rng)])),
            ("x-amz-checksum-algorithm", lambda: rng.choice(["CRC32", weird(rng)])),
            ("x-amz-checksum-type", lambda: rng.choice(["FULL_OBJECT", "COMPOSITE", weird(rng)])),
            ("x-amz-checksum-mode", lambda: rng.choice(["ENABLED", weird(rng)])),
        ])

    def object_headers(self) -> Req:
        rng = self.rng
        method = rng.choice(["PUT", "PUT", "GET", "HEAD", "PUT-copy"])
        body = b"fuzz body " * rng.randrange(0, 20) if method == "PUT" else b""
        headers: list[tuple[str, str]] = []
        self.sse_headers(headers)
        self.checksum_headers(headers, body)
        self.maybe_headers(headers, [
            ("Range", lambda: rng.choice([f"bytes={weird(rng)}-{weird(rng)}", "bytes=0-", "bytes=-5", "bytes=5-2",
                                          "bytes=0-1,3-4", weird(rng), "bytes=\u00b2-3", "bytes=" + "9" * 5000 + "-"])),
            ("If-Match", lambda: rng.choice(['"x"', "*", weird(rng)])),
            ("If-None-Match", lambda: rng.choice(['"x"', "*", weird(rng)])),
            ("If-Modified-Since", lambda: rng.choice(["Sat, 01 Jan 2000 00:00:00 GMT", weird(rng)])),
            ("x-amz-meta-m", lambda: weird(rng)),
            ("x-amz-tagging", lambda: rng.choice(["a=b", "a=b&a=c", weird(rng)])),
            ("x-amz-storage-class", lambda: rng.choice(["STANDARD", "GLACIER", weird(rng)])),
            ("Content-Type", lambda: weird(rng)),
            ("x-amz-object-lock-mode", lambda: weird(rng)),
            ("x-amz-website-redirect-location", lambda: weird(rng)),
        ])
        if method == "PUT-copy":
            source = rng.choice([f"/{BUCKET}/{rng.choice(list(VICTIMS))}", f"{BUCKET}/k", "/nobucket/k", weird(rng),
                                 f"/{BUCKET}/k?versionId={weird(rng)}", f"/{BUCKET}/%ff"])
            headers.append(("x-amz-copy-source", source))
            self.maybe_headers(headers, [
                ("x-amz-copy-source-range", lambda: rng.choice([f"bytes=0-{weird(rng)}", "bytes=0-1", weird(rng)])),
                ("x-amz-metadata-directive", lambda: rng.choice(["COPY", "REPLACE", weird(rng)])),
                ("x-amz-copy-source-server-side-encryption-customer-algorithm", lambda: weird(rng)),
                ("x-amz-copy-source-server-side-encryption-customer-key", lambda: weird(rng)),
                ("x-amz-copy-source-if-match", lambda: weird(rng)),
            ])
            method = "PUT"
        if rng.random() < 0.1:
            headers.append((rng.choice([h for h, _ in headers] or ["x-amz-meta-d"]), weird(rng)))   # duplicate
        return Req(method, self.path(), headers, body, surface="headers")

    # --- query parameters
    QUERY: ClassVar[list[str]] = ["partNumber", "uploadId", "versionId", "list-type", "max-keys", "prefix", "marker", "delimiter",
             "encoding-type", "continuation-token", "start-after", "part-number-marker", "max-parts", "max-uploads",
             "key-marker", "version-id-marker", "upload-id-marker", "fetch-owner", "response-content-type",
             "response-content-disposition", "response-expires", "response-cache-control", "versions", "uploads",
             "encryption", "versioning", "location", "delete", "x-id"]
    RARE_QUERY: ClassVar[list[str]] = ["tagging", "acl", "attributes", "policy", "lifecycle", "cors", "torrent", "select"]

    def query(self) -> Req:
        from urllib.parse import quote

        rng = self.rng
        params = []
        for _ in range(rng.randrange(1, 5)):
            roll = rng.random()
            name = rng.choice(self.QUERY) if roll < 0.85 else rng.choice(self.RARE_QUERY) if roll < 0.92 else weird(rng)
            value = weird(rng) if rng.random() < 0.7 else ""
            params.append(quote(name, safe="") + ("" if value == "" and rng.random() < 0.5 else "=" + quote(value, safe="")))
        query = "&".join(params)
        if rng.random() < 0.1:
            query = mutate_bytes(rng, query.encode()).decode("latin-1")
            query = "".join(c if 33 <= ord(c) < 127 else "%" + format(ord(c), "02X") for c in query)
        method = rng.choice(["GET", "GET", "HEAD", "DELETE", "POST", "PUT"])
        target = rng.choice([f"/{BUCKET}", self.path(), "/"])
        if method == "DELETE" and "uploadId" not in query:
            target = f"/{BUCKET}/" + rng.choice(["k", "a/b", "dir/"])   # never the victims, never the bucket
        if method in ("PUT", "POST") and target == f"/{BUCKET}" and rng.random() < 0.5:
            method = "GET"
        return Req(method, f"{target}?{query}", [], b"" if method != "PUT" else b"q", surface="query")

    # --- aws-chunked
    def aws_chunked(self) -> Req:
        rng = self.rng
        data = b"chunked data " * rng.randrange(1, 30)
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        pieces = []
        for offset in range(0, len(data), 64):
            piece = data[offset:offset + 64]
            pieces.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pieces.append(b"0\r\n")
        trailer = f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
        body = b"".join(pieces) + trailer
        if rng.random() < 0.8:
            body = mutate_bytes(rng, body)
        headers = [("Content-Encoding", rng.choice(["aws-chunked", "aws-chunked,gzip", weird(rng)])),
                   ("x-amz-decoded-content-length", str(len(data)) if rng.random() < 0.8 else weird(rng)),
                   ("x-amz-trailer", rng.choice(["x-amz-checksum-crc32", "x-amz-checksum-sha256", weird(rng)]))]
        payload = rng.choice(["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                              "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                              "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"])
        if payload.startswith("STREAMING-AWS4-HMAC"):
            body = body.replace(b"\r\n", b";chunk-signature=" + b"0" * 64 + b"\r\n", 1)
        if rng.random() < 0.1:
            headers = [h for h in headers if h[0] != "x-amz-decoded-content-length"]
        target = self.path(rng.choice(["k", "a/b"])) if rng.random() < 0.8 else self.upload_target()
        return Req("PUT", target, headers, body, payload=payload, surface="aws-chunked")

    def upload_target(self) -> str:
        uploads = self.state["uploads"]
        key, upload_id = self.rng.choice(uploads) if uploads else ("mpu", "x")
        return f"{self.path(key)}?partNumber=1&uploadId={upload_id}"

    # --- KMS JSON
    KMS: ClassVar[list[str]] = ["CreateKey", "DescribeKey", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Encrypt", "Decrypt",
           "ReEncrypt", "CreateAlias", "DeleteAlias", "ListAliases", "ListKeys", "EnableKey", "DisableKey",
           "ScheduleKeyDeletion", "CancelKeyDeletion", "GenerateRandom", "UpdateAlias", "ListResourceTags"]
    KMS_FIELDS: ClassVar[list[str]] = ["KeyId", "KeySpec", "NumberOfBytes", "Plaintext", "CiphertextBlob", "EncryptionContext",
                  "AliasName", "TargetKeyId", "PendingWindowInDays", "Limit", "Marker", "Description", "KeyUsage",
                  "GrantTokens", "DestinationKeyId", "SourceKeyId", "EncryptionAlgorithm"]

    def kms_value(self) -> Any:
        rng = self.rng
        return rng.choice([
            lambda: rng.choice(self.state["kms_keys"]), lambda: weird(rng), lambda: rng.randrange(-5, 2000),
            lambda: 10 ** rng.randrange(1, 400), lambda: [weird(rng)], lambda: {"a": weird(rng)}, lambda: None,
            lambda: True, lambda: 1.5, lambda: base64.b64encode(rng.randbytes(rng.randrange(0, 200))).decode(),
            lambda: "AES_256", lambda: "alias/fuzz-" + weird(rng),
            lambda: self.state["ciphertext"], lambda: {"k": 1}])()

    def kms(self) -> Req:
        rng = self.rng
        operation = rng.choice(self.KMS) if rng.random() < 0.95 else weird(rng)
        document = {name: self.kms_value() for name in rng.sample(self.KMS_FIELDS, rng.randrange(0, 5))}
        if "KeyId" not in document and rng.random() < 0.7:
            document["KeyId"] = rng.choice(self.state["kms_keys"])
        if operation in ("DisableKey", "ScheduleKeyDeletion", "DeleteAlias", "UpdateAlias", "CreateAlias") \
                and document.get("KeyId") in self.state["kms_keys"]:
            document["KeyId"] = self.state["spare_key"]          # the keys SSE-KMS requests use stay usable
        if document.get("AliasName") == "alias/fuzz":
            document["AliasName"] = "alias/fuzz-spare"
        try:
            body = json.dumps(document).encode()
        except (ValueError, TypeError):
            body = b"{}"
        if rng.random() < 0.25:
            body = mutate_bytes(rng, body)
        content_type = "application/x-amz-json-1.1" if rng.random() < 0.9 else weird(rng)
        headers = [("X-Amz-Target", f"TrentService.{operation}"), ("Content-Type", content_type)]
        return Req("POST", "/", headers, body, sign="kms", surface="kms")

    # --- POST forms
    def post_form(self) -> Req:
        rng = self.rng
        fields: dict[str, str] = {"key": rng.choice(["k", "a/b", "form/${filename}", weird(rng)])}
        extra = [("x-amz-server-side-encryption", lambda: rng.choice(["AES256", "aws:kms", weird(rng)])),
                 ("Content-Type", lambda: weird(rng)), ("success_action_status", lambda: rng.choice(["201", weird(rng)])),
                 ("x-amz-meta-a", lambda: weird(rng)), ("acl", lambda: weird(rng)),
                 ("x-amz-server-side-encryption-aws-kms-key-id", lambda: rng.choice(self.state["kms_keys"])),
                 ("x-amz-checksum-crc32", lambda: weird(rng)), ("tagging", lambda: weird(rng))]
        for name, value in extra:
            if rng.random() < 0.2:
                fields[name] = value()
        policy: Any = "auto"
        if rng.random() < 0.2:
            policy = {"conditions": rng.choice([[{"bucket": BUCKET}, ["starts-with", "$key", ""]],
                                                [["content-length-range", weird(rng), weird(rng)]],
                                                [["eq", "$key"]], [{"bucket": [1]}], "notalist", [[]]]),
                      "expiration": rng.choice(["2099-01-01T00:00:00.000Z", weird(rng)])}
        try:
            form = postform.build_form(BUCKET, fields, b"form file " * rng.randrange(0, 10), policy, self.keys,
                                       self.server.region)
        except (TypeError, ValueError, UnicodeError):
            form = postform.build_form(BUCKET, {"key": "k"}, b"x", "auto", self.keys, self.server.region)
        body, content_type = form.body, form.content_type
        roll = rng.random()
        if roll < 0.15:
            body = body.replace(b'name="key"', rng.choice([b'name="Key"', b'name="KEY"', b'name="key"; name="x"']), 1)
        elif roll < 0.25:
            boundary = content_type.split("boundary=")[1].encode()
            extra_part = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="key"\r\n\r\nother\r\n'
            body = extra_part + body
        elif roll < 0.45:
            body = mutate_bytes(rng, body)
        if rng.random() < 0.05:
            content_type = weird(rng)
        return Req("POST", f"/{BUCKET}", [("Content-Type", content_type)], body, sign="none", surface="post-form")

    SURFACES: ClassVar[list[tuple[str, float]]] = [
        ("put_bucket_encryption", 0.07), ("put_versioning", 0.04), ("delete_objects", 0.08),
        ("complete_multipart", 0.08), ("create_multipart", 0.03), ("upload_part", 0.05), ("object_headers", 0.22),
        ("query", 0.14), ("aws_chunked", 0.1), ("kms", 0.12), ("post_form", 0.07)]

    def next(self) -> Req:
        names, weights = zip(*self.SURFACES, strict=True)
        request: Req = getattr(self, self.rng.choices(names, weights)[0])()
        roll = self.rng.random()
        if request.sign != "none" and roll < 0.05:
            request.sign = "none"
        elif request.sign != "none" and roll < 0.1:
            request.sign = "bad"
        return request


# ----------------------------------------------------------------- sending
class Client:
    """Keep-alive HTTP/1.1 over one socket; reconnects when the server closes."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.wire = Wire(server.endpoint, server.credentials, server.region)
        self.conn: socket.socket | None = None
        self.reader: Any = None

    def _connect(self) -> None:
        self.close()
        self.conn = socket.create_connection((self.wire.host, self.wire.port), timeout=TIMEOUT)
        self.reader = self.conn.makefile("rb")

    def close(self) -> None:
        if self.conn is not None:
            self.reader.close()
            self.conn.close()
            self.conn = None

    def raw(self, request: Req) -> bytes:
        # Values are signed as the server reads them (bytes as latin-1), so non-ASCII ones reach the handlers too.
        headers = [(n, v.encode("utf-8", "surrogatepass").decode("latin-1")) for n, v in request.headers]
        headers.append(("Host", f"{self.wire.host}:{self.wire.port}"))
        if request.method in ("PUT", "POST") or request.body:
            headers.append(("Content-Length", str(len(request.body))))
        if request.sign in ("s3", "bad"):
            headers = self.wire.signed_headers(request.method, request.target, headers, request.body, request.payload)
        elif request.sign == "kms":
            aws = AWSRequest(method="POST", url=self.wire.endpoint + request.target, data=request.body)
            for name, value in headers:
                aws.headers[name] = value
            SigV4Auth(self.wire.keys(), "kms", self.wire.region).add_auth(aws)
            headers = list(aws.headers.items())
        if request.sign == "bad":
            headers = [(n, re.sub(r"Signature=[0-9a-f]{8}", "Signature=deadbeef", v) if n == "Authorization" else v)
                       for n, v in headers]
        head = f"{request.method} {request.target} HTTP/1.1\r\n".encode("latin-1", "replace")
        for name, value in headers:
            head += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
        return head + b"\r\n" + request.body

    def send(self, request: Req) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); status 0: the connection closed without an answer."""
        data = self.raw(request)
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            assert self.conn is not None
            try:
                self.conn.sendall(data)
                response = http.client.HTTPResponse(_Sock(self.reader), method=request.method)  # type: ignore[arg-type]
                response.begin()
                body = response.read()
                headers = {k.lower(): v for k, v in response.getheaders()}
                if response.will_close:
                    self.close()
                return response.status, headers, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    return 0, {}, b""
        return 0, {}, b""


class _Sock:
    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class LogTrap(logging.Handler):
    """Every record at ERROR or above, and any record carrying an exception, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in record.getMessage():
            self.records.append(record)


@pytest.fixture
def fuzz_server() -> Iterator[RunningServer]:
    with running_server(allow_sse_c_over_http=True, request_timeout=2.0) as server:
        yield server


def _setup(server: RunningServer, client: Client) -> dict[str, Any]:
    s3 = server.client("s3")
    kms = server.client("kms")
    s3.create_bucket(Bucket=BUCKET)
    unblock = (b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
               b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes><EncryptionType>NONE"
               b"</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>")
    status, _, body = client.send(Req("PUT", f"/{BUCKET}?encryption", [("Content-MD5", md5_b64(unblock))], unblock))
    assert status == 200, body
    s3.put_object(Bucket=BUCKET, Key="victim-plain", Body=VICTIMS["victim-plain"])
    s3.put_object(Bucket=BUCKET, Key="victim-sse-s3", Body=VICTIMS["victim-sse-s3"], ServerSideEncryption="AES256")
    key = kms.create_key()["KeyMetadata"]
    spare = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/fuzz", TargetKeyId=key["KeyId"])
    ciphertext = base64.b64encode(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]).decode()
    etags = []
    uploads = []
    for _ in range(3):
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu")["UploadId"]
        etags.append(s3.upload_part(Bucket=BUCKET, Key="mpu", UploadId=upload_id, PartNumber=1,
                                    Body=b"p" * 100)["ETag"].strip('"'))
        uploads.append(("mpu", upload_id))
    return {"kms_keys": [key["KeyId"], key["Arn"], "alias/fuzz"], "spare_key": spare["KeyId"],
            "ciphertext": ciphertext, "etags": etags,
            "uploads": uploads}


def _deliberate_not_implemented(request: Req, status: int, body: bytes) -> bool:
    """S3's own 501 for functionality it does not offer (an ACL subresource, SigV4a streaming, ...): the
    NotImplemented error document (HEAD: no body), the one 5xx that is an answer rather than a failure."""
    return status == 501 and (b"<Code>NotImplemented</Code>" in body or (request.method == "HEAD" and not body))


def test_fuzz_every_request_surface(fuzz_server: RunningServer) -> None:
    trap = LogTrap()
    root = logging.getLogger()
    root.addHandler(trap)
    client = Client(fuzz_server)
    try:
        state = _setup(fuzz_server, client)
        rng = random.Random(SEED)
        generator = Generator(rng, state, fuzz_server)
        started = time.monotonic()
        problems: list[str] = []
        counts: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        for index in range(BUDGET):
            request = generator.next()
            counts[request.surface] = counts.get(request.surface, 0) + 1
            try:
                status, _, body = client.send(request)
            except TimeoutError:
                client.close()
                problems.append(f"#{index} {request.surface}: no answer within {TIMEOUT} s: "
                                f"{request.method} {request.target[:120]}")
                continue
            if status >= 500 and not _deliberate_not_implemented(request, status, body):
                problems.append(f"#{index} {request.surface}: HTTP {status} {body[:300]!r} for {request.method} "
                                f"{request.target[:120]} {request.headers!r:.400} body {request.body[:200]!r}")
            code = re.search(rb"<Code>([^<]{1,60})</Code>|\"__type\":\s*\"([^\"]{1,60})\"", body)
            outcome = f"{status} {(code.group(1) or code.group(2)).decode() if code else ''}".strip()
            per_surface = outcomes.setdefault(request.surface, {})
            per_surface[outcome] = per_surface.get(outcome, 0) + 1
            if request.surface == "create-mpu" and status == 200:
                match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
                if match and len(state["uploads"]) < 50:
                    state["uploads"].append(("mpu", match.group(1).decode()))
            if len(problems) >= 20:
                break
        elapsed = time.monotonic() - started
        for key, data in VICTIMS.items():
            status, _, body = client.send(Req("GET", f"/{BUCKET}/{key}"))
            if status != 200 or body != data:
                problems.append(f"victim {key} changed: HTTP {status}, {len(body)} bytes")
        logged = [f"{r.name} {r.levelname}: {r.getMessage()[:300]}" for r in trap.records]
        where = f"seed {SEED}, {index + 1} requests, {elapsed:.1f} s, per surface {counts}"
        assert not problems, where + "\n" + "\n".join(problems)
        assert not logged, where + "\nserver log:\n" + "\n".join(logged[:20])
        if os.environ.get("S3C_FUZZ_VERBOSE"):
            for surface, seen in sorted(outcomes.items()):
                print(surface, sorted(seen.items(), key=lambda item: -item[1])[:12])
        # the fuzzing reaches the handlers: most requests pass authentication
        denied = sum(seen.get("403 SignatureDoesNotMatch", 0) + seen.get("403 AccessDenied", 0)
                     for seen in outcomes.values())
        assert denied < 0.3 * (index + 1), (where, outcomes)
        if BUDGET <= 5000:
            assert elapsed < TIME_LIMIT, where
        assert len(counts) == len(Generator.SURFACES), counts
    finally:
        root.removeHandler(trap)
        client.close()
