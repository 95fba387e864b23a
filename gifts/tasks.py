from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from gifts import live_video


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def end_streams_past_grace() -> list[int]:
    """End the live sessions whose stream stayed down past the reconnect grace (queued with a
    countdown when a stream goes down, and run by beat). Safe to run twice."""
    return live_video.end_streams_past_grace()
