"""OpenTelemetry traces of every request: off unless an OTLP endpoint is configured.

Configured by the OpenTelemetry SDK's own variables, read by the SDK itself:
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP over
HTTP, protobuf: `http://collector:4318`), and optionally `OTEL_SERVICE_NAME`
(default `timeline`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`.
With neither endpoint set, nothing of OpenTelemetry is imported and no span is
made. Litestar's OpenTelemetry plugin makes one server span per request (named
by method and route); spans go out in batches from a thread, and the last batch
when the process exits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from litestar.plugins import InitPluginProtocol

from timeline.variables import ConfigError

ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SERVICE = "timeline"
INSTALL = "pip install 'timeline[otel]'"


def wanted(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) for name in ENDPOINTS)


def traces_plugins(environ: Mapping[str, str] = os.environ) -> list[InitPluginProtocol]:
    """Litestar's OpenTelemetry plugin exporting to OTLP when an endpoint is configured."""
    if not wanted(environ):
        return []
    try:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise ConfigError(
            f"{ENDPOINTS[1]} is set, but OpenTelemetry is not installed ({INSTALL}): {error}"
        ) from None
    name = environ.get("OTEL_SERVICE_NAME") or SERVICE
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    # The provider flushes its last batch at exit by itself (shutdown_on_exit).
    return [OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider))]
