"""Services: the work behind each endpoint, independent of HTTP."""
