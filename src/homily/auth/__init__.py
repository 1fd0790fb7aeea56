"""Authentication: client credentials, JWT access tokens, and the principal of a request."""
