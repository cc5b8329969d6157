"""Object versions as requests name them: ?versionId checks, the version a read resolves to (delete markers
answered as S3 does), the id a new version gets and the x-amz-version-id header of write responses."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.errors import invalid_argument, method_not_allowed, no_such_key, no_such_version
from mockserver.httpdates import http_date
from mockserver.storage.base import NULL_VERSION, Bucket, ObjectVersion, new_version_id

if TYPE_CHECKING:
    from mockserver.http import RequestContext


def plausible_version_id(version_id: str) -> bool:
    return version_id == "null" or (len(version_id) == 32 and all(c.isalnum() or c in "-_" for c in version_id))


def next_version_id(bucket: Bucket) -> str:
    return new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION


def version_header(bucket: Bucket, version_id: str) -> dict[str, str]:
    """x-amz-version-id on write responses: only for buckets that have had versioning configured."""
    if bucket.versioning is None:
        return {}
    return {"x-amz-version-id": version_id}


def resolve_version(ctx: RequestContext, bucket: Bucket, key: str, *, version_id: str | None = None) -> ObjectVersion:
    """The version a GET/HEAD/copy source names: ?versionId or the latest. Delete markers answer as S3 does
    (404 NoSuchKey for the latest, 405 MethodNotAllowed when named), with x-amz-delete-marker."""
    storage = ctx.state.storage
    if version_id is None:
        version_id = ctx.query.get("versionId")
    if version_id is not None:
        if version_id == "":
            raise invalid_argument("Version id cannot be the empty string", "versionId", "")
        version = storage.get_version(bucket.name, key, version_id)
        if version is None:
            if not plausible_version_id(version_id):
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            raise no_such_version(key, version_id)
        if version.delete_marker:
            error = method_not_allowed(ctx.method, "DeleteMarker")
            error.headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id,
                             "last-modified": http_date(version.last_modified)}
            raise error
        return version
    version = storage.latest(bucket.name, key)
    if version is None:
        raise no_such_key(key)
    if version.delete_marker:
        error = no_such_key(key)
        error.headers = {"x-amz-delete-marker": "true"}
        if bucket.versioning is not None:
            error.headers["x-amz-version-id"] = version.version_id
        raise error
    return version
