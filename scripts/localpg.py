"""A local PostgreSQL server kept for a folder, for ./scripts/orchestrate.

``localpg.py start DIR`` initialises the server the first time (installing PostgreSQL with
apt-get where its binaries are missing), starts it unless it is running, and prints
``<host> <port>``; ``localpg.py stop DIR`` stops it; ``localpg.py running DIR`` exits 0 when
it runs. Trust authentication on 127.0.0.1 only, user ``postgres``. The server keeps its files
in DIR when its user can reach DIR, else in a folder of its own that ``DIR/location`` names
(orchestrate/edges_orchestrate/localpg.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "orchestrate"))

from edges_orchestrate import localpg


def main(argv: list[str]) -> int:
    """Start DIR | stop DIR."""
    action, wanted = argv[0], Path(argv[1]).resolve()
    if action == "start":
        host, port = localpg.start(wanted)
        print(f"{host} {port}")
    elif action == "running":
        return 0 if localpg.running(wanted) else 1
    else:
        localpg.stop(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
