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
from typing import Annotated, Any, TypeVar

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
OCTETS = "application/octet-stream"
FOR_GOOD = "public, max-age=31536000, immutable"
LATEST = "public, max-age=1"
PARTIAL = "public, max-age=60"

T = TypeVar("T")


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


def _refuse(refused: bool, code: str, detail: str, field: str) -> None:
    """A 400 naming `field` when `refused`: a proof's sizes out of order."""
    if refused:
        raise ApiProblem(400, code, detail, field=field)


def _for_good(body: T) -> Response[T]:
    """A proof, which never changes."""
    return Response(body, headers={"Cache-Control": FOR_GOOD})


_BAD = (400, 404)  # a malformed size or path; past the tree


def _route(
    path: str, summary: str, operation_id: str, statuses: tuple[int, ...], media: str | None = None
) -> get:
    """A log route: its path, summary, operation id, the problems it may answer and its type."""
    return get(
        path,
        summary=summary,
        operation_id=operation_id,
        media_type=media,
        responses=problems(*statuses),
    )


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

    @_route("/checkpoint", "The latest signed checkpoint", "GetLatestCheckpoint", (404,), TEXT)
    async def checkpoint(self, reader: NamedDependency[Reader]) -> Response[str]:
        """A C2SP tlog-checkpoint in a signed note (Ed25519); cached for a second."""
        async with reader.read() as conn:
            found = await reads.latest(await driver_of(conn))
        return _note(found, LATEST, "latest")

    @_route("/checkpoints/{size:int}", "A kept signed checkpoint", "GetCheckpoint", _BAD, TEXT)
    async def kept(
        self,
        reader: NamedDependency[Reader],
        size: Annotated[int, PathParameter(description="its tree size", ge=1)],
    ) -> Response[str]:
        """Every checkpoint the log signed is kept, and never changes."""
        async with reader.read() as conn:
            found = await reads.kept(await driver_of(conn), size)
        return _note(found, FOR_GOOD, f"size {size}")

    @_route(
        "/tile/{level:int}/{rest:path}",
        "A tile of the tree (C2SP tlog-tiles)",
        "GetTile",
        _BAD,
        OCTETS,
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
        return Response(body, media_type=OCTETS, headers={"Cache-Control": cache})

    @_route("/proof/inclusion", "An inclusion proof", "GetInclusionProof", _BAD)
    async def inclusion(
        self,
        reader: NamedDependency[Reader],
        index: Annotated[int, QueryParameter(description="the leaf (an event's log_index)", ge=0)],
        size: Annotated[
            int, QueryParameter(description="the tree size, e.g. a checkpoint's", ge=1)
        ],
    ) -> Response[InclusionProof]:
        """The RFC 9162 audit path of leaf `index` in the tree of `size`, hashes in base64."""
        _refuse(index >= size, "bad-index", f"index: {index} is not below size {size}", "index")
        hashes = await _proof(reader, reads.inclusion, index, size)
        return _for_good(InclusionProof(index=index, size=size, hashes=hashes))

    @_route("/proof/consistency", "A consistency proof", "GetConsistencyProof", _BAD)
    async def consistency(
        self,
        reader: NamedDependency[Reader],
        old: Annotated[int, QueryParameter(name="from", description="the older tree size", ge=1)],
        to: Annotated[int, QueryParameter(description="the newer tree size", ge=1)],
    ) -> Response[ConsistencyProof]:
        """The RFC 9162 proof that the tree of `to` extends the tree of `from`, in base64."""
        _refuse(old > to, "bad-range", f"from: {old} is larger than to ({to})", "from")
        hashes = await _proof(reader, reads.consistency, old, to)
        return _for_good(ConsistencyProof(from_=old, to=to, hashes=hashes))

    @_route("/key", "The log's verifier key", "GetLogKey", (404,), TEXT)
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
