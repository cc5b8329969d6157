"""A rendered RequestSpec -> the exact request for the wire: URL, headers, integrity values, payload framing,
signature. The spec is rendered already (templating happens once, in the engine)."""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from .. import s3model
from ..casefile.model import Form, RequestSpec, Signing
from . import aws_chunked, bodies, integrity, postform, signing


class RequestBuildError(Exception):
    """The case asks for something that cannot be built (unknown object, missing alt account, ...)."""


@dataclass
class BuildContext:
    """What a request needs besides its spec: where, as whom, and the fixture objects bodies may name."""
    endpoint: str
    region: str
    main: signing.Keys
    alt: signing.Keys | None = None
    plain_endpoint: str | None = None
    addressing: str = "path"
    operation: str = ""                     # the case's operation: the fallback for the Content-MD5 default
    objects: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Outgoing:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    payload: bytes          # decoded content (object bytes / form file) for `same_as: {step}`


def _is_ip_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def build_url(endpoint: str, bucket: str | None, key: str | None, query: list[tuple[str, str]],
              addressing: str) -> tuple[str, str | None, str]:
    """(url, Host header override or None, SigV2 auth path). Virtual-hosted addressing against an IP or
    localhost endpoint connects to the endpoint and names the bucket in Host (`bucket.localhost:port`),
    because `bucket.127.0.0.1` cannot resolve; against a named endpoint the bucket joins the host name."""
    parts = urlsplit(endpoint)
    base_path = parts.path.rstrip("/")
    key_path = "/" + quote(key, safe="/~") if key is not None else ""
    host_override = None
    netloc = parts.netloc
    if bucket and addressing == "virtual":
        path = base_path + (key_path or "/")
        hostname = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        if _is_ip_or_localhost(hostname):
            host_override = f"{bucket}.localhost{port}"
        else:
            netloc = f"{bucket}.{netloc}"
        auth_path = f"/{bucket}{key_path or '/'}"
    else:
        path = base_path + (f"/{quote(bucket, safe='')}" if bucket else "") + key_path
        path = path or "/"
        auth_path = path
    query_text = "&".join(quote(k, safe="-_.~") if v == "" else f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                          for k, v in query)
    url = f"{parts.scheme}://{netloc}{path}" + (f"?{query_text}" if query_text else "")
    return url, host_override, auth_path


def _check_latin1(name: str, value: str) -> None:
    """http.client sends header fields as Latin-1; anything else cannot go on the wire as written."""
    for text, what in ((name, "name"), (value, "value")):
        try:
            text.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise RequestBuildError(f"header {name!r}: the {what} holds {text[exc.start]!r}, which HTTP/1.1 "
                                    "cannot carry (headers are Latin-1; percent- or RFC 2047-encode it in "
                                    "the case)") from None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def build(spec: RequestSpec, ctx: BuildContext) -> Outgoing:
    method = spec.method
    auth = spec.auth
    scheme = spec.scheme
    endpoint = ctx.endpoint
    if scheme == "http":
        if ctx.plain_endpoint is None:
            raise RequestBuildError("scheme: http needs a plain-HTTP endpoint, and this target has none")
        endpoint = ctx.plain_endpoint
    query = [(str(k), _scalar(v)) for k, v in spec.query.items()]
    bucket = spec.bucket
    key = spec.key
    url, host, auth_path = build_url(endpoint, bucket, key, query, spec.addressing or ctx.addressing)

    explicit = spec.headers
    for name, value in explicit.items():
        _check_latin1(str(name), _scalar(value))
    removed = {name.lower() for name, value in explicit.items() if value is None}
    headers: list[tuple[str, str]] = [(name, _scalar(value)) for name, value in explicit.items() if value is not None]
    if host:
        headers.insert(0, ("Host", host))

    keys = ctx.alt if auth == "alt" else ctx.main
    if auth == "alt" and ctx.alt is None:
        raise RequestBuildError("auth: alt needs the second account's keys (--alt-access-key/--alt-secret-key)")
    dev = spec.signing or Signing()
    if dev.access_key == "unknown" and keys is not None:
        keys = signing.unknown_keys(keys.secret_key)
    deviation = signing.Deviation(dev.time_offset, dev.scope_region, dev.scope_service, dev.scope_terminal,
                                  dev.scope_date_offset_days, dev.sign_host)
    sig_v2_path = dev.sigv2_resource or auth_path

    if spec.form is not None:
        return _build_form(spec.form, ctx, method, url, headers, bucket or "",
                           keys if auth not in ("anonymous",) else None, dev, auth == "bad-signature")

    try:
        body = bodies.body_bytes(spec.body, ctx.objects)
    except bodies.BodyError as exc:
        raise RequestBuildError(str(exc)) from None

    names = {name.lower() for name, _ in headers}
    checksum = spec.checksum
    payload_mode = spec.payload
    trailer_modes = ("chunked-unsigned-trailer", "chunked-signed-trailer")

    md5_mode = spec.content_md5
    if md5_mode is None:
        # the request's own operation (PUT ?encryption is PutBucketEncryption whatever the case is about)
        operation = s3model.infer_operation(method, bool(bucket), key is not None, {k for k, _ in query},
                                            names)
        needs = (operation or ctx.operation) in s3model.operations_requiring_integrity()
        md5_mode = "auto" if body and checksum is None and needs else "none"
    md5 = integrity.content_md5(body, md5_mode)
    if md5 is not None and "content-md5" not in names | removed:
        headers.append(("Content-MD5", md5))
    if checksum and payload_mode not in trailer_modes:
        header = integrity.checksum_header(checksum.algorithm)
        if header not in names | removed:
            headers.append((header, integrity.checksum_value(checksum.algorithm, body, checksum.value)))

    chunk_size = spec.chunk_size or aws_chunked.DEFAULT_CHUNK_SIZE
    explicit_hash = next((str(v) for n, v in explicit.items() if n.lower() == "x-amz-content-sha256" and v is not None),
                         None)
    payload_hash = explicit_hash or {
        "signed": hashlib.sha256(body).hexdigest(),
        "unsigned": signing.UNSIGNED_PAYLOAD,
        "chunked-signed": signing.STREAMING_SIGNED,
        "chunked-signed-trailer": signing.STREAMING_SIGNED_TRAILER,
        "chunked-unsigned-trailer": signing.STREAMING_UNSIGNED_TRAILER,
    }[payload_mode]
    trailer_alg = checksum.algorithm if checksum else "crc32"
    trailer_value = checksum.value if checksum else "auto"
    if payload_mode.startswith("chunked"):
        if "content-encoding" not in names | removed:
            headers.append(("Content-Encoding", "aws-chunked"))
        if "x-amz-decoded-content-length" not in names | removed:
            headers.append(("X-Amz-Decoded-Content-Length", str(len(body))))
        if payload_mode in trailer_modes and "x-amz-trailer" not in names | removed:
            headers.append(("X-Amz-Trailer", integrity.checksum_header(trailer_alg)))
        if payload_mode == "chunked-signed" and auth not in ("main", "alt", "bad-signature"):
            raise RequestBuildError(f"payload: chunked-signed needs header SigV4 auth, not auth: {auth}")

    wire_body = body
    if auth in ("main", "alt", "bad-signature"):
        assert keys is not None
        if "x-amz-content-sha256" in removed:
            headers.append(("X-Amz-Content-SHA256", payload_hash))   # signer needs one; dropped again below
        signed = signing.sign_v4(method, url, headers, b"", keys, ctx.region, payload_hash, deviation)
        signer = aws_chunked.ChunkSigner(keys, ctx.region, signed.timestamp or "", signed.scope or "",
                                     signed.signature or "")
        if auth == "bad-signature":
            signed = signing.corrupt_signature(signed)
        out_headers = signed.headers
        if payload_mode == "chunked-signed":
            wire_body = aws_chunked.frame_signed(body, signer, chunk_size, dev.corrupt_chunk)
        elif payload_mode == "chunked-signed-trailer":
            wire_body = aws_chunked.frame_signed_trailer(body, signer, trailer_alg, trailer_value, chunk_size,
                                                         dev.corrupt_chunk, dev.corrupt_trailer)
        url = signed.url
    else:
        # No header signature: a streaming mode still announces itself through x-amz-content-sha256.
        if payload_mode != "signed" and "x-amz-content-sha256" not in names | removed:
            headers.append(("X-Amz-Content-SHA256", payload_hash))
        if auth == "presigned":
            expires: int | str = dev.expires if dev.expires is not None else spec.presign_expires
            signed = signing.presign_v4(method, url, headers, keys or ctx.main, ctx.region, expires, deviation)
            url, out_headers = signed.url, signed.headers
        elif auth == "presigned-v2":
            seconds = _int_expires(dev.expires) if dev.expires is not None else spec.presign_expires
            signed = signing.presign_v2(method, url, headers, keys or ctx.main, sig_v2_path, seconds,
                                        dev.time_offset)
            url, out_headers = signed.url, signed.headers
        elif auth == "sigv2":
            out_headers = signing.sign_v2(method, url, headers, keys or ctx.main, sig_v2_path,
                                          dev.time_offset).headers
        else:
            out_headers = headers
    if payload_mode == "chunked-unsigned-trailer":
        wire_body = aws_chunked.frame_unsigned_trailer(body, trailer_alg, trailer_value, chunk_size)
    out_headers = [(n, v) for n, v in out_headers if n.lower() not in removed or n.lower() == "authorization"]
    out_headers = _after_signing(out_headers, dev)
    return Outgoing(method, url, out_headers, wire_body, body)


def _int_expires(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RequestBuildError(f"signing.expires {text!r}: SigV2 presigning needs a whole number of seconds") \
            from None


def _after_signing(headers: list[tuple[str, str]], dev: Signing) -> list[tuple[str, str]]:
    """`changed_headers` replace the value of headers the signature covers; `unsigned_headers` are added after
    the signature was computed (so SignedHeaders does not list them)."""
    for name, value in dev.changed_headers.items():
        lname = str(name).lower()
        if not any(n.lower() == lname for n, _ in headers):
            raise RequestBuildError(f"signing.changed_headers: {name!r} is not in the signed request; add it to "
                                    "headers: (changed_headers alters a header after signing)")
        headers = [(n, _scalar(value)) if n.lower() == lname else (n, v) for n, v in headers]
    for name, value in dev.unsigned_headers.items():
        _check_latin1(str(name), _scalar(value))
        headers = headers + [(str(name), _scalar(value))]
    return headers


def _build_form(form_spec: Form, ctx: BuildContext, method: str, url: str, headers: list[tuple[str, str]],
                bucket: str, keys: signing.Keys | None, dev: Signing, corrupt: bool) -> Outgoing:
    try:
        file_data = bodies.body_bytes(form_spec.file, ctx.objects)
    except bodies.BodyError as exc:
        raise RequestBuildError(str(exc)) from None
    fields = {str(k): _scalar(v) for k, v in form_spec.fields.items()}
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=dev.time_offset)
    form = postform.build_form(bucket, fields, file_data, form_spec.policy, keys, ctx.region, now,
                               dev.policy_expires_in, corrupt)
    names = {n.lower() for n, _ in headers}
    if "content-type" not in names:
        headers = headers + [("Content-Type", form.content_type)]
    return Outgoing(method, url, headers, form.body, file_data)
