"""Domain errors: a broken rule, naming the field at fault.

DomainError(field, message)
 ├── InvalidValue                 a value that is not acceptable (bad EDTF, low > high, …)
 ├── NotFound                     the aggregate does not exist
 │    ├── TimelineNotFound
 │    ├── SourceNotFound
 │    └── AssertionNotFound
 ├── AlreadyExists                the aggregate exists already
 │    ├── TimelineAlreadyExists
 │    └── SourceAlreadyExists
 ├── AssertionIsRetracted         a retracted assertion cannot change
 ├── SourceIsWithdrawn            a withdrawn source cannot change or be cited
 └── ReportedBeforeFirstReport    an event reported before its assertion was
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused a command; `field` names what was at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidValue(DomainError):
    """A value the domain cannot accept."""


class NotFound(DomainError):
    """The aggregate a command addresses does not exist."""


class TimelineNotFound(NotFound):
    def __init__(self, slug: str, field: str = "slug") -> None:
        super().__init__(field, f"no timeline {slug!r}")


class SourceNotFound(NotFound):
    def __init__(self, source_id: str, field: str = "source_id") -> None:
        super().__init__(field, f"no source {source_id!r}")


class AssertionNotFound(NotFound):
    def __init__(self, assertion_id: str, field: str = "assertion_id") -> None:
        super().__init__(field, f"no assertion {assertion_id!r}")


class AlreadyExists(DomainError):
    """The aggregate a command would create exists already."""


class TimelineAlreadyExists(AlreadyExists):
    def __init__(self, slug: str) -> None:
        super().__init__("slug", f"timeline {slug!r} exists already")


class SourceAlreadyExists(AlreadyExists):
    def __init__(self, source_id: str) -> None:
        super().__init__("source_id", f"source {source_id!r} exists already")


class AssertionIsRetracted(DomainError):
    def __init__(self, assertion_id: str) -> None:
        super().__init__("assertion_id", f"assertion {assertion_id} is retracted")


class SourceIsWithdrawn(DomainError):
    def __init__(self, source_id: str, field: str = "source_id") -> None:
        super().__init__(field, f"source {source_id} is withdrawn")


class ReportedBeforeFirstReport(DomainError):
    def __init__(self, first_reported_at: str) -> None:
        super().__init__(
            "reported_at",
            f"precedes the assertion's first report ({first_reported_at})",
        )
