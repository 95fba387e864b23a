"""The media server as `python -m tools.devservices up` runs it: loopback only, and a site that
still starts (saying why) when nginx or its RTMP module is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.devservices import media


def test_the_generated_config_listens_on_loopback_only_and_calls_back_with_the_secret(tmp_path: Path) -> None:
    config = media.render_config(
        root=tmp_path,
        rtmp_port=41935,
        http_port=48080,
        control_port=48081,
        callback_base="http://127.0.0.1:8000",
        secret="s3cret",
    )
    listens = re.findall(r"listen ([^;]+);", config)
    assert listens == ["127.0.0.1:41935", "127.0.0.1:48080", "127.0.0.1:48081"]
    assert "on_publish http://127.0.0.1:8000/live/rtmp/publish/?secret=s3cret;" in config
    assert "on_publish_done http://127.0.0.1:8000/live/rtmp/publish_done/?secret=s3cret;" in config
    assert "rtmp_control all;" in config and "hls on;" in config


def test_without_the_rtmp_module_up_succeeds_and_says_live_video_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(media, "RTMP_MODULE", tmp_path / "missing.so")
    values = media.server.up()
    assert values["MEDIA_RTMP_URL"] == ""
    assert "RTMP module is not installed" in values["MEDIA_UNAVAILABLE"]
