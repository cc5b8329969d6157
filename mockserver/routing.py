"""Operation registry: handlers register with @route(method, level, query=..., header=...).

Resolution picks the most specific registration whose query keys and header are all present. A request that
names an S3 subresource no registration handles is answered 501 NotImplemented by the app.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from mockserver.http import RequestContext, Response

Handler = Callable[[RequestContext], Awaitable[Response]]
LEVELS = ("service", "bucket", "object")

# Query keys that select a different S3 operation (as opposed to parameters such as versionId or prefix).
SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "annotation", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
    "inventory", "legal-hold", "lifecycle", "location", "logging", "metadataConfiguration", "metadataTable",
    "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
    "renameObject", "replication", "requestPayment", "restore", "retention", "select", "session", "tagging",
    "torrent", "uploads", "versioning", "versions", "website", "uploadId",
})


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    level: str
    query: tuple[str, ...]
    header: str | None
    handler: Handler
    query_set: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "query_set", frozenset(self.query))

    @property
    def specificity(self) -> int:
        return len(self.query) * 2 + (1 if self.header else 0)


_ROUTES: dict[tuple[str, str], list[Route]] = {}


def route(method: str, level: str, query: tuple[str, ...] | str = (), header: str | None = None,
          operation: str | None = None) -> Callable[[Handler], Handler]:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level}")
    keys = (query,) if isinstance(query, str) else tuple(query)

    def register(fn: Handler) -> Handler:
        entry = Route(operation or fn.__name__, method, level, keys, header, fn)
        routes = _ROUTES.setdefault((method, level), [])
        routes.append(entry)
        routes.sort(key=lambda r: -r.specificity)
        return fn

    return register


def resolve(method: str, level: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Route | None:
    """The route for this request, or None (-> NotImplemented / MethodNotAllowed)."""
    routes = _ROUTES.get((method, level))
    if not routes:
        return None
    # Set operations instead of generator loops: this runs on every request, over every query parameter
    # (a presigned URL has seven).
    names = query.keys()
    present = SUBRESOURCES.intersection(names)
    for entry in routes:
        keys = entry.query
        # Most registrations miss on their first query key: one dict lookup before the subset test.
        if keys and (keys[0] not in query or not entry.query_set <= names):
            continue
        if entry.header is None or entry.header in headers:
            return entry if present <= entry.query_set else None
    return None
