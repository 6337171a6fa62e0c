"""OpenTelemetry traces: none unless an OTLP endpoint is set; then a span per request
reaches the collector (here a small OTLP/HTTP receiver that decodes what it is sent)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from litestar.plugins.opentelemetry import OpenTelemetryPlugin
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.faults.server import serve
from timeline.api.app import create_app
from timeline.api.traces import traces_plugins
from timeline.config import Settings


def test_without_an_otlp_endpoint_nothing_traces(database_url: str) -> None:
    assert traces_plugins({}) == []
    app = create_app(Settings(), database_url)
    assert not any(isinstance(p, OpenTelemetryPlugin) for p in app.plugins)


class Collector(ThreadingHTTPServer):
    """Keeps every span name it is sent, with its service's name."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.spans: list[tuple[str, str]] = []


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource.resource.attributes
                    if a.key == "service.name"
                )
                for scope in resource.scope_spans:
                    self.server.spans.extend((service, span.name) for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_with_an_otlp_endpoint_each_request_is_a_span_at_the_collector(
    database_url: str,
) -> None:
    with collector() as otlp:
        endpoint = f"http://127.0.0.1:{otlp.server_address[1]}"
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with serve(database_url, **env) as server:
            assert httpx.get(f"{server.base}/v1/timelines", timeout=10).status_code == 200
            deadline = time.monotonic() + 15
            while not any("/v1/timelines" in name for _, name in otlp.spans):
                assert time.monotonic() < deadline, otlp.spans
                time.sleep(0.1)
    services = {service for service, name in otlp.spans if "/v1/timelines" in name}
    assert services == {"timeline"}
    assert any(name.startswith("GET /v1/timelines") for _, name in otlp.spans), otlp.spans
