"""`python -m mockserver` = `s3-conformance serve`."""
import sys

from mockserver.server import main

sys.exit(main())
