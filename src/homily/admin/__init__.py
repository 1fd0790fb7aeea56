"""Administration of organisations, credentials and publishers, shared by the CLI and the admin API."""

from homily.admin.service import AdminService, IssuedCredential, initialise

__all__ = ["AdminService", "IssuedCredential", "initialise"]
