"""botocore's service models, loaded once through botocore's public API (`Session.get_service_model`): S3's
operations with their HTTP routes, integrity requirements and input members, and KMS's operation names.

The one place that infers which S3 operation a raw request performs (request building uses it for the
Content-MD5 default, coverage to count a step for the operation it really calls)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.model import ServiceModel

POST_OBJECT = "PostObject"          # browser-based upload: not in the model (it is a form, not an API call)


@functools.lru_cache(maxsize=2)
def service(name: str = "s3") -> ServiceModel:
    """The botocore ServiceModel of `name` (imported lazily: `--help` and the pytest plugin stay fast)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(name)


@functools.lru_cache(maxsize=1)
def kms_operation_names() -> frozenset[str]:
    return frozenset(service("kms").operation_names)


@functools.lru_cache(maxsize=1)
def operations_requiring_integrity() -> frozenset[str]:
    """Operations the S3 model marks as needing Content-MD5 or a checksum (httpChecksumRequired /
    requestChecksumRequired): these get Content-MD5 by default."""
    model = service()
    names = set()
    for name in model.operation_names:
        operation = model.operation_model(name)
        if operation.http_checksum_required or operation.http_checksum.get("requestChecksumRequired"):
            names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class Route:
    """How an operation appears on the wire, from its `http.requestUri` and required input members."""
    operation: str
    method: str
    bucket: bool                          # {Bucket} in the path
    key: bool                             # {Key+} in the path
    subresources: frozenset[str]          # literal query keys of the requestUri (`?encryption`, `?uploads`)
    required_query: frozenset[str]        # required querystring members (`uploadId`, `partNumber`)
    required_headers: frozenset[str]      # required header members, lower case (`x-amz-copy-source`)


@functools.lru_cache(maxsize=1)
def routes() -> tuple[Route, ...]:
    model = service()
    found = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        path, _, query = operation.http.get("requestUri", "/").partition("?")
        literal = frozenset(part.split("=", 1)[0] for part in query.split("&")
                            if part and "{" not in part and not part.startswith("x-id="))
        shape = operation.input_shape
        required = set(shape.required_members) if shape is not None else set()
        members = shape.members if shape is not None else {}
        located = {member: (spec.serialization.get("location"), spec.serialization.get("name", member))
                   for member, spec in members.items() if member in required}
        found.append(Route(name, operation.http.get("method", ""), "{Bucket}" in path, "{Key+}" in path, literal,
                           frozenset(n for loc, n in located.values() if loc == "querystring"),
                           frozenset(n.lower() for loc, n in located.values() if loc == "header")))
    return tuple(found)


def infer_operation(method: str, bucket: bool, key: bool, query_keys: set[str] | frozenset[str],
                    headers: set[str] | frozenset[str] = frozenset(), form: bool = False) -> str | None:
    """The S3 operation a raw request performs: the route whose method, path, subresources and required
    query/header members the request has, the most specific first (PUT /b/k with x-amz-copy-source and
    ?partNumber&uploadId is UploadPartCopy, PUT /b?encryption is PutBucketEncryption). A form POST to a
    bucket is PostObject. None when nothing in the model fits. `headers`: lower-case names."""
    if form and method == "POST" and bucket and not key:
        return POST_OBJECT
    best: tuple[tuple[int, int], str] | None = None
    for route in routes():
        if route.method != method or route.bucket != bucket or route.key != key:
            continue
        if not (route.subresources <= query_keys and route.required_query <= query_keys
                and route.required_headers <= headers):
            continue
        score = (len(route.subresources), len(route.required_query) + len(route.required_headers))
        if best is None or score > best[0]:
            best = (score, route.operation)
    return best[1] if best else None
