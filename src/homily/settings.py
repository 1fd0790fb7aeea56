"""All configuration in one object, read from the environment (and an optional `.env` file).

Nothing else in the code base reads environment variables: everything that needs a setting receives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from homily.embeddings.weights import WeightPrecision
from homily.guard.policy import GuardPolicy

ProviderName = Literal["openai", "anthropic", "google", "open_source"]


class Settings(BaseSettings):
    """Server settings. Secrets are `SecretStr` so they never appear in logs or reprs."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("homily-data"), validation_alias="HOMILY_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="HOMILY_DATABASE_URL")
    redis_url: str | None = Field(None, validation_alias="HOMILY_REDIS_URL")
    host: str = Field("127.0.0.1", validation_alias="HOMILY_HOST")
    port: int = Field(8000, validation_alias="HOMILY_PORT")
    public_url: str | None = Field(None, validation_alias="HOMILY_PUBLIC_URL")
    admin_secret: SecretStr | None = Field(None, validation_alias="HOMILY_ADMIN_SECRET")
    catalog_path: Path | None = Field(None, validation_alias="HOMILY_CATALOG")
    signing_key: SecretStr | None = Field(None, validation_alias="HOMILY_SIGNING_KEY")
    token_ttl_seconds: int = Field(3600, ge=60, validation_alias="HOMILY_TOKEN_TTL_SECONDS")
    revocation_refresh_seconds: float = Field(2.0, gt=0, validation_alias="HOMILY_REVOCATION_REFRESH_SECONDS")
    log_level: str = Field("INFO", validation_alias="HOMILY_LOG_LEVEL")
    routing_preference: Literal["cost", "balanced", "quality"] = Field(
        "balanced", validation_alias="HOMILY_ROUTING_PREFERENCE"
    )
    router_weights: Path | None = Field(None, validation_alias="HOMILY_ROUTER_WEIGHTS")
    rate_limit_per_minute: int = Field(0, ge=0, validation_alias="HOMILY_RATE_LIMIT_PER_MINUTE")
    """Completion requests per credential per minute; 0 means unlimited."""
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=1024, validation_alias="HOMILY_MAX_REQUEST_BYTES")

    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1024, validation_alias="HOMILY_MAX_UPLOAD_BYTES")
    """Largest content upload (a multipart request, or a real-time upload's content) in bytes; more is a 413."""
    max_upload_files: int = Field(100, ge=1, validation_alias="HOMILY_MAX_UPLOAD_FILES")
    library_dir: Path | None = Field(None, validation_alias="HOMILY_LIBRARY_DIR")
    """The GlooGrounded library to ingest on first start; None means the one packaged with Homily."""
    load_library: bool = Field(True, validation_alias="HOMILY_LOAD_LIBRARY")
    """Whether to create and fill the shared GlooGrounded publisher at start."""
    preload_embedder: bool = Field(True, validation_alias="HOMILY_PRELOAD_EMBEDDER")
    """Load the embedding model in the background at start (else on first use)."""

    upstream_connect_timeout: float = Field(5.0, gt=0, validation_alias="HOMILY_UPSTREAM_CONNECT_TIMEOUT")
    upstream_first_byte_timeout: float = Field(60.0, gt=0, validation_alias="HOMILY_UPSTREAM_FIRST_BYTE_TIMEOUT")
    upstream_idle_timeout: float = Field(60.0, gt=0, validation_alias="HOMILY_UPSTREAM_IDLE_TIMEOUT")
    upstream_max_attempts: int = Field(3, ge=1, le=10, validation_alias="HOMILY_UPSTREAM_MAX_ATTEMPTS")
    """Calls to one upstream (first try plus retries on 429/5xx/timeouts) before falling back to the next model."""
    circuit_failure_threshold: int = Field(5, ge=1, validation_alias="HOMILY_CIRCUIT_FAILURE_THRESHOLD")
    circuit_reset_seconds: float = Field(30.0, gt=0, validation_alias="HOMILY_CIRCUIT_RESET_SECONDS")
    embeddings: Literal["local", "off"] = Field("local", validation_alias="HOMILY_EMBEDDINGS")
    """`local`: all-MiniLM-L6-v2 (ONNX Runtime) computes the shared query embedding; `off`: lexical-only guard
    and rule-based routing."""
    embedding_weights: WeightPrecision = Field("int8", validation_alias="HOMILY_EMBEDDING_WEIGHTS")
    """How the local model holds its weights: `int8` (default; about 1.2x faster per query and batch, vectors
    within cosine ~0.9995 of float32, so stored vectors stay valid either way) or `float32` (sentence-transformers'
    exact output)."""
    retrieval_embeddings: Literal["local", "openai"] = Field("local", validation_alias="HOMILY_RETRIEVAL_EMBEDDINGS")
    """What embeds uploaded content and grounded queries: `local` (all-MiniLM-L6-v2, shared with guard and router)
    or `openai` (any OpenAI-compatible `/embeddings` endpoint, below). Changing it re-embeds stored content in
    the background; keyword search keeps working meanwhile."""
    retrieval_embeddings_url: str = Field(
        "https://api.openai.com/v1", pattern=r"^https?://", validation_alias="HOMILY_RETRIEVAL_EMBEDDINGS_URL"
    )
    retrieval_embeddings_model: str = Field(
        "text-embedding-3-small", min_length=1, validation_alias="HOMILY_RETRIEVAL_EMBEDDINGS_MODEL"
    )
    retrieval_embeddings_dimension: int = Field(
        1536, ge=8, le=8192, validation_alias="HOMILY_RETRIEVAL_EMBEDDINGS_DIMENSION"
    )
    retrieval_embeddings_api_key: SecretStr | None = Field(None, validation_alias="HOMILY_RETRIEVAL_EMBEDDINGS_API_KEY")
    """Bearer key of the embeddings endpoint; defaults to OPENAI_API_KEY."""
    guard_policy: GuardPolicy = Field(default_factory=GuardPolicy, validation_alias="HOMILY_GUARD_POLICY")
    upstream_max_connections: int = Field(256, ge=1, validation_alias="HOMILY_UPSTREAM_MAX_CONNECTIONS")

    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str = Field("https://api.openai.com/v1", validation_alias="OPENAI_BASE_URL")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str = Field("https://api.anthropic.com", validation_alias="ANTHROPIC_BASE_URL")
    gemini_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    gemini_base_url: str = Field("https://generativelanguage.googleapis.com", validation_alias="GEMINI_BASE_URL")
    open_source_base_url: str | None = Field(None, validation_alias="HOMILY_OPEN_SOURCE_BASE_URL")
    open_source_api_key: SecretStr | None = Field(None, validation_alias="HOMILY_OPEN_SOURCE_API_KEY")

    @model_validator(mode="after")
    def _remote_embeddings_need_a_key(self) -> Settings:
        """OpenAI's own endpoint refuses keyless calls: say so at start, not in a retry loop after it."""
        keyless = self.retrieval_embeddings_api_key is None and self.openai_api_key is None
        if self.retrieval_embeddings == "openai" and keyless and "api.openai.com" in self.retrieval_embeddings_url:
            raise ValueError(
                "HOMILY_RETRIEVAL_EMBEDDINGS=openai needs HOMILY_RETRIEVAL_EMBEDDINGS_API_KEY or OPENAI_API_KEY "
                "(or HOMILY_RETRIEVAL_EMBEDDINGS_URL of a server that takes no key)"
            )
        return self

    @property
    def issuer(self) -> str:
        """The `iss` claim of issued tokens: the public URL, else the bind address."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        """Path of the SQLite database (`HOMILY_DATABASE_URL=sqlite:///path`, else inside the data dir)."""
        url = self.database_url
        if url and url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return self.data_dir / "homily.db"


PROVIDER_SETTING: dict[ProviderName, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
    "open_source": "HOMILY_OPEN_SOURCE_BASE_URL",
}
"""The setting that enables each upstream provider; named in 503 errors so the operator knows what to add."""
