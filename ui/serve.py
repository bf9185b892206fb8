"""`python -m ui.serve run …`: Streamlit's own command line, without its watch on config files.

Whatever `server.fileWatcherType` says, Streamlit polls every place a `config.toml` may be
(three here, none of which exists) five times a second, each from a thread of its own, to
reload a file edited while it runs. This UI is given all its options on the command line
(`ui.process.command`), so there is nothing to reload; the polling was most of the idle
UI's CPU (without it 0.2 % of a core instead of 0.5-0.6 %; docs/adr/0030).
"""

from __future__ import annotations

from collections.abc import Callable

from streamlit.web import bootstrap, cli


def _not_watched(
    path: str,
    on_file_changed: Callable[[str], None],
    watcher_type: str | None = None,
    *,
    allow_nonexistent: bool = False,
) -> bool:
    return False


def main() -> None:
    # what `streamlit run` calls to watch the config files, and only that
    setattr(bootstrap, "watch_file", _not_watched)  # noqa: B010 - not exported
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
