"""Operation handlers; importing this package registers every operation with mockserver.routing."""
from mockserver.handlers import (  # noqa: F401
    annotations,
    attributes,
    buckets,
    copy,
    encryption,
    get_part,
    listing,
    multipart,
    objects,
    post_object,
    update_encryption,
    versioning,
)
