"""/v1/log: the verifiable log's checkpoints, tiles (C2SP tlog-tiles), proofs and key.

Everything here is a public read (under the same read guard as the rest) of
immutable facts, so the cache headers say so: a kept checkpoint, a full tile
and a proof never change; only the latest checkpoint moves, so it is cached
for a moment. The plugin also runs the sequencer inside `timeline serve`
when a key file is there and TIMELINE_LOG_SEQUENCER is on.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.config.app import AppConfig
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.plugins import InitPluginProtocol

from timeline.api.auth import require_read
from timeline.api.docs import problems
from timeline.api.errors import ApiProblem
from timeline.api.state import Reader
from timeline.config import Settings
from timeline.domain import merkle
from timeline.store.db import driver_of
from timeline.store.log import StoredCheckpoint
from timeline.tlog import reads
from timeline.tlog.note import NoteError, Signer, read_key_file
from timeline.tlog.sequencer import Sequencer

log = logging.getLogger(__name__)

TEXT = "text/plain"  # Litestar adds "; charset=utf-8"
FOR_GOOD = "public, max-age=31536000, immutable"
LATEST = "public, max-age=1"
PARTIAL = "public, max-age=60"


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    size: int
    hashes: list[str]  # base64, the leaf's sibling first (RFC 9162 §2.1.3)


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True):
    from_: int = msgspec.field(name="from")
    to: int
    hashes: list[str]  # base64 (RFC 9162 §2.1.4)


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _note(checkpoint: StoredCheckpoint | None, cache: str, what: str) -> Response[str]:
    if checkpoint is None:
        raise ApiProblem(404, "not-found", f"{what}: no such signed checkpoint")
    return Response(checkpoint.note, media_type=TEXT, headers={"Cache-Control": cache})


def _not_in_tree(error: reads.NotInTree) -> ApiProblem:
    return ApiProblem(404, "not-found", str(error), field=error.field)


async def _proof(
    reader: Reader, prove: Callable[[Any, int, int], Awaitable[list[bytes]]], a: int, b: int
) -> list[str]:
    """A proof's hashes in base64; a size past the tree is a 404 naming it."""
    async with reader.read() as conn:
        try:
            return _b64(await prove(await driver_of(conn), a, b))
        except reads.NotInTree as error:
            raise _not_in_tree(error) from None


def parse_tile_path(path: str) -> tuple[int, int | None]:
    """(index, width or None) of a tile path's N[.p/W] part; ValueError naming what is wrong."""
    parts = path.strip("/").split("/")
    width: int | None = None
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        if not parts[-1].isdigit() or not 1 <= int(parts[-1]) < merkle.TILE_WIDTH:
            raise ValueError("a partial tile's width is 1 to 255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2].removesuffix(".p")]
    return merkle.parse_tile_index(parts), width


class LogController(Controller):
    path = "/v1/log"
    tags = ("log",)
    guards = (require_read,)

    @get(
        "/checkpoint",
        summary="The latest signed checkpoint",
        operation_id="GetLatestCheckpoint",
        media_type=TEXT,
        responses=problems(404),
    )
    async def checkpoint(self, reader: NamedDependency[Reader]) -> Response[str]:
        """A C2SP tlog-checkpoint in a signed note (Ed25519); cached for a second."""
        async with reader.read() as conn:
            found = await reads.latest(await driver_of(conn))
        return _note(found, LATEST, "latest")

    @get(
        "/checkpoints/{size:int}",
        summary="A kept signed checkpoint",
        operation_id="GetCheckpoint",
        media_type=TEXT,
        responses=problems(400, 404),
    )
    async def kept(
        self,
        reader: NamedDependency[Reader],
        size: Annotated[int, PathParameter(description="its tree size", ge=1)],
    ) -> Response[str]:
        """Every checkpoint the log signed is kept, and never changes."""
        async with reader.read() as conn:
            found = await reads.kept(await driver_of(conn), size)
        return _note(found, FOR_GOOD, f"size {size}")

    @get(
        "/tile/{level:int}/{rest:path}",
        summary="A tile of the tree (C2SP tlog-tiles)",
        operation_id="GetTile",
        media_type="application/octet-stream",
        responses=problems(400, 404),
    )
    async def tile(
        self,
        reader: NamedDependency[Reader],
        level: Annotated[int, PathParameter(description="the tile level L", ge=0, le=7)],
        rest: Annotated[str, PathParameter(description="N as xNNN/.../NNN, then .p/W if partial")],
    ) -> Response[bytes]:
        """Up to 256 hashes of tree level 8·L, 32 bytes each; a full tile never changes."""
        try:
            index, width = parse_tile_path(rest)
        except ValueError as error:
            raise ApiProblem(400, "bad-tile", str(error), field="tile") from None
        async with reader.read() as conn:
            try:
                body = await reads.tile(await driver_of(conn), level, index, width)
            except reads.NotInTree as error:
                raise _not_in_tree(error) from None
        cache = FOR_GOOD if width is None else PARTIAL
        return Response(
            body, media_type="application/octet-stream", headers={"Cache-Control": cache}
        )

    @get(
        "/proof/inclusion",
        summary="An inclusion proof",
        operation_id="GetInclusionProof",
        responses=problems(400, 404),
    )
    async def inclusion(
        self,
        reader: NamedDependency[Reader],
        index: Annotated[int, QueryParameter(description="the leaf (an event's log_index)", ge=0)],
        size: Annotated[
            int, QueryParameter(description="the tree size, e.g. a checkpoint's", ge=1)
        ],
    ) -> Response[InclusionProof]:
        """The RFC 9162 audit path of leaf `index` in the tree of `size`, hashes in base64."""
        if index >= size:
            raise ApiProblem(
                400, "bad-index", f"index: {index} is not below size {size}", field="index"
            )
        hashes = await _proof(reader, reads.inclusion, index, size)
        body = InclusionProof(index=index, size=size, hashes=hashes)
        return Response(body, headers={"Cache-Control": FOR_GOOD})

    @get(
        "/proof/consistency",
        summary="A consistency proof",
        operation_id="GetConsistencyProof",
        responses=problems(400, 404),
    )
    async def consistency(
        self,
        reader: NamedDependency[Reader],
        old: Annotated[int, QueryParameter(name="from", description="the older tree size", ge=1)],
        to: Annotated[int, QueryParameter(description="the newer tree size", ge=1)],
    ) -> Response[ConsistencyProof]:
        """The RFC 9162 proof that the tree of `to` extends the tree of `from`, in base64."""
        if old > to:
            raise ApiProblem(
                400, "bad-range", f"from: {old} is larger than to ({to})", field="from"
            )
        hashes = await _proof(reader, reads.consistency, old, to)
        body = ConsistencyProof(from_=old, to=to, hashes=hashes)
        return Response(body, headers={"Cache-Control": FOR_GOOD})

    @get(
        "/key",
        summary="The log's verifier key",
        operation_id="GetLogKey",
        media_type=TEXT,
        responses=problems(404),
    )
    async def key(self, request: Request[Any, Any, Any]) -> Response[str]:
        """The signed-note verifier key, `<name>+<key id>+<key>`, that opens the checkpoints."""
        plugin = request.app.plugins.get(LogPlugin)
        if plugin.signer is None:
            raise ApiProblem(404, "not-found", "this server has no log key configured")
        vkey = plugin.signer.verifier().text() + "\n"
        return Response(vkey, media_type=TEXT, headers={"Cache-Control": "public, max-age=3600"})


class LogPlugin(InitPluginProtocol):
    """The log's routes, and its sequencer while the app runs (when it has a key and is on)."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.signer: Signer | None = None
        try:
            self.signer = read_key_file(settings.log_key_file)
        except (NoteError, OSError) as error:
            log.info("log: no signer key (%s); checkpoints are served, none signed here", error)
        self.sequencer: Sequencer | None = None
        if self.signer is not None and settings.log_sequencer:
            self.sequencer = Sequencer(database_url, self.signer, settings.log_origin)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LogController)
        if self.sequencer is not None:
            app_config.on_startup.append(self.sequencer.start)
            app_config.on_shutdown.insert(0, self.sequencer.stop)
        return app_config
