"""The JetStream side: connect, make or check the stream, read the last id it holds."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError


class StreamMisconfigured(Exception):
    """The stream exists with settings the relay cannot keep its promise with."""


async def connect_nats(url: str, *, name: str = "timeline-relay") -> Client:
    """A NATS connection that reconnects by itself, for ever, every half second."""
    return await nats.connect(
        url,
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        # nats-py prints every failed reconnect unless it has callbacks of its own.
        error_cb=_quiet,
        disconnected_cb=_none,
        reconnected_cb=_none,
        closed_cb=_none,
    )


async def _quiet(_error: Exception) -> None:
    return None


async def _none() -> None:
    return None


def subjects_of(prefix: str) -> str:
    return f"{prefix}.>"


async def ensure_stream(
    js: JetStreamContext, name: str, prefix: str, duplicate_window: float
) -> None:
    """Make stream `name` (file storage) or check that the one there keeps the promise.

    A duplicate window shorter than asked would let a republished tail through twice.
    """
    wanted = subjects_of(prefix)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[wanted],
                storage=StorageType.FILE,
                duplicate_window=duplicate_window,
            )
        )
        return
    config = info.config
    if wanted not in (config.subjects or []):
        raise StreamMisconfigured(
            f"stream {name} takes subjects {config.subjects}, not {wanted}: "
            "use another --stream or --subject-prefix"
        )
    if config.storage != StorageType.FILE:
        raise StreamMisconfigured(f"stream {name} keeps messages in memory: it needs file storage")
    if (config.duplicate_window or 0) < duplicate_window:
        raise StreamMisconfigured(
            f"stream {name} has a duplicate window of {config.duplicate_window} s, "
            f"shorter than --duplicate-window {duplicate_window} s"
        )


async def last_message_id(js: JetStreamContext, name: str) -> str | None:
    """The Nats-Msg-Id of the stream's last message still held, or None (it holds none).

    The stream's last sequence number outlives a deleted or lost last message, so
    this walks back from it to the newest message still there.
    """
    info = await js.stream_info(name)
    if info.state.messages == 0:
        return None
    for seq in range(info.state.last_seq, info.state.first_seq - 1, -1):
        try:
            message = await js.get_msg(name, seq=seq)
        except NotFoundError:
            continue
        value = (message.headers or {}).get("Nats-Msg-Id")
        return None if value is None else str(value)
    return None
