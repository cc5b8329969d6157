"""The client compatibility matrix (`s3-conformance clients`): real S3 clients, each installed on demand into a
cache and run in its own process, drive a fixed list of scenarios against an endpoint."""
