"""moto's S3 server (as `python -m moto.server`), with writes serialized.

Real S3 applies a conditional PUT (If-None-Match: *, If-Match: <ETag>) atomically; moto checks
the condition and then stores the object without a lock, so two concurrent conditional PUTs
of one key can both succeed. The release store's lock and pointers rest on that atomicity
(tests/publish_race.rs races eight publishers), so this runs moto's own WSGI application with
one lock around every request that writes. Reads stay concurrent.

Usage: python3 .ci/moto-server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

WRITES = {"PUT", "POST", "DELETE"}


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    write_lock = threading.Lock()

    def serialized(environ, start_response):
        if environ.get("REQUEST_METHOD") not in WRITES:
            return app(environ, start_response)
        with write_lock:
            # The whole response is produced under the lock: the write is done when it ends.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True)


if __name__ == "__main__":
    main()
