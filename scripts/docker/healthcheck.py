"""The image's HEALTHCHECK: exit 0 when GET /api/health answers 200 (no curl in the image)."""

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('SEMVEC_PORT', '8000')}/api/health"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"{url}: {error}", file=sys.stderr)
    sys.exit(1)
