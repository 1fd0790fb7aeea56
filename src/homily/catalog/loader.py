"""Load and query the model catalog (shipped `models.json`, or the file named by `HOMILY_CATALOG`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from homily.protocol.chat import ModelFamily
from homily.settings import ProviderName


class CatalogError(ValueError):
    """The catalog file is missing or invalid; the message says which file and what is wrong."""


class Rate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rate_per_1m_tokens: str


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input: Rate
    output: Rate


class UpstreamOptions(BaseModel):
    """Per-model quirks of the upstream API (e.g. OpenAI reasoning models take `max_completion_tokens`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    fixed_temperature: bool = False


class CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: str
    family: ModelFamily
    tier: Literal[1, 2, 3]
    provider: ProviderName
    upstream_model: str
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    supports_tools: bool
    supports_reasoning: bool
    input_modalities: list[str]
    pricing: Pricing
    rank_in_tier: int = 1
    options: UpstreamOptions = UpstreamOptions()

    @property
    def blended_price(self) -> float:
        """Price of a typical request (3 input : 1 output tokens) per 1M tokens, for cost ordering."""
        return (3 * float(self.pricing.input.rate_per_1m_tokens) + float(self.pricing.output.rate_per_1m_tokens)) / 4

    def output_budget(self, requested: int) -> int:
        """The output tokens a request asking for `requested` gets from this model: never more than it can produce.
        What is sent upstream and what the router's context check counts, so both agree."""
        return max(1, min(requested, self.max_output_tokens))


class Catalog(BaseModel):
    """The whole catalog. Invariant: ids are unique; `family_order` lists every family used."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    family_order: list[ModelFamily]
    models: list[CatalogModel]

    _index: dict[str, CatalogModel] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._index = {m.id: m for m in self.models}

    def get(self, model_id: str) -> CatalogModel | None:
        return self._index.get(model_id)

    def in_family(self, family: ModelFamily) -> list[CatalogModel]:
        return [m for m in self.models if m.family == family]


def load_catalog(path: Path | None = None) -> Catalog:
    """Read the catalog; `path=None` reads the file shipped in the package."""
    try:
        if path is None:
            raw = resources.files("homily.catalog").joinpath("models.json").read_bytes()
        else:
            raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read the model catalog {path}: {exc}; check HOMILY_CATALOG") from exc
    try:
        catalog = Catalog.model_validate_json(raw)
    except ValueError as exc:
        raise CatalogError(f"invalid model catalog {path or 'models.json'}: {exc}") from exc
    ids = [m.id for m in catalog.models]
    if len(ids) != len(set(ids)):
        raise CatalogError("the model catalog repeats a model id")
    return catalog
