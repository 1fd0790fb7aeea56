"""HTTP layer: thin Starlette routers per area; the work happens in services."""
