"""Background tasks that end cleanly: cancelled, awaited, and their failures logged."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has ended. A task that had already died of an exception
    is logged here, because nobody else awaits it and the failure would otherwise go unseen."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("background task %r had failed", task.get_name(), exc_info=error)
