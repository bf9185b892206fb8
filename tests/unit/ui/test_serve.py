"""`ui.serve` runs Streamlit without its polling of config files (docs/adr/0030)."""

from __future__ import annotations

import inspect

from streamlit.web import bootstrap

from ui.process import command


def test_streamlit_still_watches_its_config_files_through_what_ui_serve_replaces() -> None:
    """`ui.serve` replaces `streamlit.web.bootstrap.watch_file`; should Streamlit watch its
    config files some other way, the UI would poll again unnoticed."""
    source = inspect.getsource(bootstrap)
    assert "watch_file(" in source and "config.toml" in source
    assert callable(bootstrap.__dict__["watch_file"])


def test_the_ui_runs_through_ui_serve() -> None:
    assert command("127.0.0.1", 8501)[1:4] == ["-m", "ui.serve", "run"]
