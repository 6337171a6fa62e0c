"""Write bodies decoded strictly: JSON types as the schema says, never coerced.

Litestar turns a body into its struct with msgspec in lax mode (`strict=False`,
right for query strings, where everything is text), so `"lat": "39"` became a
float and an integer `reported_at` a Unix time. This DTO is Litestar's own hook
for how a body is decoded: it decodes the bytes straight into the handler's
struct with `strict=True`, in one pass, and any fault (a wrong type, malformed or
truncated JSON, bytes that are not UTF-8) is a 400 naming the field, or `body`.
The OpenAPI schema is the struct's own, as without a DTO.

Every instant in a write body is a time of knowledge (`reported_at`,
`published_at`, `withdrawn_at`), so each is checked here, in one place: it has a
UTC form in years 1-9998 (domain/instants.py), and it is not later than the
server's clock plus TIMELINE_MAX_CLOCK_SKEW. A report from the future would make
every later write dated now "precede the first report".
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.dto import AbstractDTO
from litestar.exceptions import ValidationException

from timeline.api.state import AppState
from timeline.domain.instants import to_utc

if TYPE_CHECKING:  # Litestar's hook signatures name these; nothing here uses them
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.dto._backend import DTOBackend
    from litestar.dto.data_structures import DTOFieldDefinition
    from litestar.openapi.spec import Reference, Schema
    from litestar.typing import FieldDefinition

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


class StrictBody(AbstractDTO[Any]):
    """Decode a JSON body into the handler's `data` type, strictly."""

    def decode_bytes(self, value: bytes) -> Any:
        target = self.asgi_connection.route_handler.parsed_data_field
        assert target is not None  # Litestar asks only handlers that take `data`
        try:
            body = msgspec.json.decode(value, type=target.annotation, strict=True)
        except msgspec.ValidationError as error:
            raise self._invalid(str(error), located=True) from None
        except msgspec.DecodeError as error:
            raise self._invalid(f"malformed JSON: {error}", located=False) from None
        self._check_instants(body)
        return body

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        target = self.asgi_connection.route_handler.parsed_data_field
        assert target is not None
        try:
            body = msgspec.convert(value, type=target.annotation, strict=True)
        except msgspec.ValidationError as error:
            raise self._invalid(str(error), located=True) from None
        self._check_instants(body)
        return body

    def _check_instants(self, body: Any) -> None:
        """Refuse an instant with no UTC form in years 1-9998, or one past now plus the skew."""
        skew = AppState.of(self.asgi_connection).settings.max_clock_skew_seconds
        latest = datetime.now(UTC) + timedelta(seconds=skew)
        for path, when in instants_in(body):
            try:
                utc = to_utc(when)
            except ValueError as error:
                raise self._invalid(str(error), path=path) from None
            if utc > latest:
                reason = (
                    f"later than the server's clock plus {skew} s of allowed skew: "
                    "a report cannot come from the future"
                )
                raise self._invalid(reason, path=path)

    def _invalid(self, text: str, *, located: bool = False, path: str = "") -> ValidationException:
        match = _AT.match(text)
        message = text
        if match and located:
            message, path = match["message"], match["path"] or ""
        request = self.asgi_connection
        return ValidationException(
            detail=f"Validation failed for {request.scope.get('method')} {request.url.path}",
            extra=[{"message": message, "key": path or "data", "source": "body"}],
        )

    # Litestar's DTO machinery would build a transfer model per handler; this DTO
    # needs none, so these hooks do nothing, and the schema is the struct's own.

    @classmethod
    def create_for_field_definition(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,
        backend_cls: type[DTOBackend] | None = None,
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        return schema_creator.for_field_definition(field_definition)

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False


def instants_in(value: Any, path: str = "") -> Iterator[tuple[str, datetime]]:
    """(field path, instant) for every datetime in a decoded body, nested ones included."""
    if isinstance(value, datetime):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from instants_in(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from instants_in(item, f"{path}[{i}]")
