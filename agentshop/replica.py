"""One replica process of `agentshop up --replicas N`: more consumers of the saga's hot
services, in their consumer groups (docs/adr/0031).

    python -m agentshop.replica SERVICE[,SERVICE...] [CALLED[,CALLED...]] --ready PATH

Runs the consumers and outbox relays of the SERVICEs, with no HTTP server and no
background loop (those run once, in the process that runs each service whole), and
answers in-process the calls those consumers make to the CALLED services. Touches PATH
once every consumer has joined its group. `agentshop up` starts these with the
infrastructure's addresses, the service token, the idle fallbacks and the sibling wake-up
sockets in the environment, and stops them with SIGTERM.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentshop.replica")
    parser.add_argument("services", help="comma-separated: the services whose consumers run")
    parser.add_argument("called", nargs="?", default="", help="comma-separated: answered here")
    parser.add_argument("--ready", type=Path, help="touched once every consumer has joined")
    args = parser.parse_args(argv)

    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    consumers = [n for n in args.services.split(",") if n]
    called = [n for n in args.called.split(",") if n]

    stack.serve_until_signal(
        lambda: stack.start_replica(settings, consumers, called),
        started=args.ready.touch if args.ready is not None else lambda: None,
    )


if __name__ == "__main__":
    main()
