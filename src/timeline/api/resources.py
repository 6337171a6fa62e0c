"""What the resource controllers (timelines, assertions, sources) declare alike."""

from __future__ import annotations

from litestar import Controller

from timeline.api.auth import require_read
from timeline.api.reading import READS
from timeline.api.writes import WRITES


class ResourceController(Controller):
    """A resource's routes: all under the read guard (a write adds the write guard),
    each able to take the read (`ctx`, `store_ctx`) and write (`new`, `change`) dependencies."""

    guards = (require_read,)
    dependencies = {**READS, **WRITES}  # noqa: RUF012
