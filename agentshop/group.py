"""One process of `agentshop up` over several: runs a group of services (docs/adr/0031).

    python -m agentshop.group SERVICE[,SERVICE...] [HOST]

`agentshop up` starts these with the infrastructure's addresses, the service token, the
idle fallbacks and the sibling wake-up sockets in the environment, and stops them with
SIGTERM. Like `agentshop serve`, but for several services sharing one process.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m agentshop.group SERVICE[,SERVICE...] [HOST]")
    names = [n for n in args[0].split(",") if n]
    host = args[1] if len(args) > 1 else "127.0.0.1"

    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)

    stack.serve_until_signal(lambda: stack.start_services(settings, names, host=host))


if __name__ == "__main__":
    main()
