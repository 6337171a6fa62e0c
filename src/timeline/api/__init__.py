"""The HTTP API (DESIGN §5): Litestar app, routes, auth, errors."""
