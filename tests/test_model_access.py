"""Per-organisation model allow-lists in routing (`homily.routing.access`) and in the in-memory registry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from homily.auth.registry import CredentialRegistry
from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.errors import ForbiddenError, InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ChatCompletionRequest
from homily.routing.router import Router
from homily.routing.rules import RuleRouter
from homily.storage.sqlite import SqliteStore

ALL = frozenset({"openai", "anthropic", "google", "open_source"})
TOOLS = [{"type": "function", "function": {"name": "f"}}]
LLAMA = "gloo-meta-llama-3.1-8b-instruct"  # the one catalog model without tool calling


def request(**fields: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "Hi"}], **fields})


def router(configured: frozenset[str] = ALL) -> Router:
    return Router(load_catalog(), Availability(configured), RuleRouter())  # type: ignore[arg-type]


def test_no_allow_list_changes_nothing() -> None:
    assert router().decide(request(auto_routing=True), allowed=None) == router().decide(request(auto_routing=True))


def test_direct_model_outside_the_list_is_403_naming_the_allowed_models() -> None:
    allowed = frozenset({"gloo-openai-gpt-5-mini", "gloo-anthropic-claude-haiku-4.5"})
    with pytest.raises(ForbiddenError) as caught:
        router().decide(request(model="gloo-google-gemini-2.5-pro"), allowed=allowed)
    error = caught.value
    assert (error.status, error.code, error.param) == (403, 1003, "model")
    assert "gloo-google-gemini-2.5-pro" in error.message
    # Catalog order, so the message is stable.
    assert "It may use: gloo-anthropic-claude-haiku-4.5, gloo-openai-gpt-5-mini" in error.message
    assert router().decide(request(model="gloo-openai-gpt-5-mini"), allowed=allowed).model == "gloo-openai-gpt-5-mini"


def test_unknown_model_stays_400_even_with_a_list() -> None:
    with pytest.raises(InvalidRequestError, match="Unknown model"):
        router().decide(request(model="gloo-unknown"), allowed=frozenset({"gloo-openai-gpt-5-mini"}))


def test_auto_routing_chooses_and_falls_back_only_among_allowed_models() -> None:
    allowed = frozenset({"gloo-google-gemini-2.5-flash", "gloo-deepseek-v3.2", "gloo-openai-gpt-5-pro"})
    decision = router().decide(request(auto_routing=True), allowed=allowed)
    assert {decision.model, *decision.fallbacks} == allowed
    unrestricted = router().decide(request(auto_routing=True))
    assert unrestricted.model not in allowed  # the restriction, not luck, picked the model


def test_model_family_with_no_allowed_model_is_403() -> None:
    allowed = frozenset({"gloo-openai-gpt-5-mini"})
    with pytest.raises(ForbiddenError) as caught:
        router().decide(request(model_family="anthropic"), allowed=allowed)
    assert caught.value.param == "model_family"
    assert "no model of the Anthropic family" in caught.value.message
    assert "gloo-openai-gpt-5-mini" in caught.value.message
    decision = router().decide(request(model_family="openai"), allowed=allowed)
    assert (decision.model, decision.fallbacks) == ("gloo-openai-gpt-5-mini", [])


def test_allow_list_of_ids_no_longer_in_the_catalog_forbids_everything() -> None:
    allowed = frozenset({"gloo-retired-model"})
    with pytest.raises(ForbiddenError, match="no model of this server's catalog") as caught:
        router().decide(request(auto_routing=True), allowed=allowed)
    assert caught.value.param == "auto_routing"


def test_allowed_models_that_cannot_serve_the_request_is_403_not_503() -> None:
    with pytest.raises(ForbiddenError, match="tool calling") as caught:
        router().decide(request(model_family="open source", tools=TOOLS), allowed=frozenset({LLAMA}))
    assert caught.value.param == "model_family"


def test_allowed_models_whose_upstream_is_down_stays_503() -> None:
    only_openai = router(frozenset({"openai"}))
    with pytest.raises(ProviderUnavailableError, match="ANTHROPIC_API_KEY"):
        only_openai.decide(request(auto_routing=True), allowed=frozenset({"gloo-anthropic-claude-haiku-4.5"}))


def test_check_access_runs_without_selection() -> None:
    # Unconfigured upstreams do not matter to the access check: it is about the organisation, not the server.
    unconfigured = router(frozenset())
    unconfigured.check_access(request(model="gloo-openai-gpt-5-mini"), frozenset({"gloo-openai-gpt-5-mini"}))
    with pytest.raises(ForbiddenError):
        unconfigured.check_access(request(model="gloo-openai-gpt-5-nano"), frozenset({"gloo-openai-gpt-5-mini"}))


# -- the in-memory registry ---------------------------------------------------------------------------------


def test_registry_loads_refreshes_and_resolves_allow_lists(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteStore(tmp_path / "homily.db")
        await store.open()
        try:
            limited = await store.create_organisation("limited")
            await store.create_credential(limited.org_id, "c", "hc_limited", "hash")
            await store.set_allowed_models(limited.org_id, ["m-1"])
            registry = CredentialRegistry(store, refresh_seconds=3600)
            await registry.refresh()
            assert registry.allowed_models(limited.org_id) == frozenset({"m-1"})
            # A change made elsewhere (another replica, the CLI) arrives with the next refresh.
            await store.set_allowed_models(limited.org_id, None)
            assert registry.allowed_models(limited.org_id) == frozenset({"m-1"})
            await registry.refresh()
            assert registry.allowed_models(limited.org_id) is None
            # A change made through this process applies at once.
            registry.set_allowed_models(limited.org_id, ["m-2", "m-3"])
            assert registry.allowed_models(limited.org_id) == frozenset({"m-2", "m-3"})
            registry.set_allowed_models(limited.org_id, None)
            assert registry.allowed_models(limited.org_id) is None
            # A credential created since the last refresh brings its organisation's allow-list with it.
            newcomer = await store.create_organisation("newcomer")
            await store.set_allowed_models(newcomer.org_id, ["m-4"])
            await store.create_credential(newcomer.org_id, "c", "hc_new", "hash")
            assert registry.allowed_models(newcomer.org_id) is None
            assert await registry.resolve("hc_new") == newcomer.org_id
            assert registry.allowed_models(newcomer.org_id) == frozenset({"m-4"})
            # So does one verified at token issuance.
            issuer = await store.create_organisation("issuer")
            await store.set_allowed_models(issuer.org_id, ["m-5"])
            await store.create_credential(issuer.org_id, "c", "hc_issuer", "hash")
            await registry.remember("hc_issuer", issuer.org_id)
            assert registry.allowed_models(issuer.org_id) == frozenset({"m-5"})
            assert registry.org_of("hc_issuer") == issuer.org_id
            await registry.remember("hc_gone", "org_deleted")
            assert registry.org_of("hc_gone") is None
        finally:
            await store.close()

    asyncio.run(scenario())
