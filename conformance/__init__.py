"""s3-conformance: replay declarative S3 SSE conformance cases against any endpoint."""
__version__ = "0.1.0"
