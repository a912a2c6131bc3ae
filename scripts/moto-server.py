"""Starts moto's server single-threaded on 127.0.0.1 and a free port, and writes the port to a file.

`moto_server` always runs werkzeug threaded, and its threaded mode loses Kinesis records under
concurrent writers, so this builds the same app and serves it one request at a time.
Single-threaded werkzeug also speaks HTTP/1.0, closing each connection after its response, so one
client's idle keep-alive connection never blocks the others.

With --iam, every request is authenticated and authorized against IAM, as scripts/moto_iam.py
describes (the least-privilege tests' server); without it, nothing is checked.

usage: python scripts/moto-server.py PORT_FILE [--iam]
"""

import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main() -> None:
    port_file = sys.argv[1]
    if sys.argv[2:] == ["--iam"]:
        import moto_iam

        moto_iam.install()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler
    )
    # Written only once the socket listens, so a reader of the file can connect at once.
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_port))
    import os

    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
