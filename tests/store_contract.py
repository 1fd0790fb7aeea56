"""Backend-neutral contract for `homily.storage.base.Store`.

A backend's test module subclasses `StoreContract` and provides a `store` fixture: an opened, empty store whose
coroutines run on the `runner` fixture's event loop (one loop per test, so network-backed stores whose
connections belong to a loop work too). Nothing here may depend on the backend.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, Protocol, TypeVar

import pytest

from homily.storage.base import AlreadyExistsError, ReferenceNotFoundError, Store

ResultT = TypeVar("ResultT")


def present(value: ResultT | None) -> ResultT:
    assert value is not None
    return value


class RunCoroutine(Protocol):
    """Runs a coroutine to completion on the test's event loop."""

    def __call__(self, coroutine: Coroutine[Any, Any, ResultT], /) -> ResultT: ...


class StoreContract:
    """Every `Store` backend must pass these unchanged."""

    @pytest.fixture
    def runner(self) -> Iterator[asyncio.Runner]:
        with asyncio.Runner() as runner:
            yield runner

    @pytest.fixture
    def run(self, runner: asyncio.Runner) -> RunCoroutine:
        return runner.run

    # -- organisations ---------------------------------------------------------------------------------

    def test_create_and_get_organisation(self, store: Store, run: RunCoroutine) -> None:
        before = time.time()
        organisation = run(store.create_organisation("Acme Ministries"))
        assert re.fullmatch(r"org_[0-9a-f]{24}", organisation.org_id)
        assert organisation.name == "Acme Ministries"
        assert before - 1 <= organisation.created_at <= time.time() + 1
        assert run(store.get_organisation(organisation.org_id)) == organisation

    def test_organisation_ids_are_unique(self, store: Store, run: RunCoroutine) -> None:
        ids = {run(store.create_organisation(f"org {n}")).org_id for n in range(20)}
        assert len(ids) == 20

    def test_duplicate_organisation_name_is_rejected(self, store: Store, run: RunCoroutine) -> None:
        run(store.create_organisation("same"))
        with pytest.raises(AlreadyExistsError):
            run(store.create_organisation("same"))
        assert [o.name for o in run(store.list_organisations())] == ["same"]

    def test_list_organisations_in_creation_order(self, store: Store, run: RunCoroutine) -> None:
        created = [run(store.create_organisation(name)) for name in ("b", "a", "c")]
        assert run(store.list_organisations()) == created

    def test_unknown_organisation(self, store: Store, run: RunCoroutine) -> None:
        assert run(store.get_organisation("org_missing")) is None
        assert run(store.delete_organisation("org_missing")) is False

    def test_names_round_trip_unicode_and_quotes(self, store: Store, run: RunCoroutine) -> None:
        name = "Église Saint-Étienne 'O\"Brien'; DROP TABLE organisations; -- 神"
        organisation = run(store.create_organisation(name))
        assert present(run(store.get_organisation(organisation.org_id))).name == name
        assert len(run(store.list_organisations())) == 1

    def test_new_organisation_may_use_every_model(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("open"))
        assert organisation.allowed_models is None
        assert present(run(store.get_organisation(organisation.org_id))).allowed_models is None

    def test_set_and_clear_allowed_models(self, store: Store, run: RunCoroutine) -> None:
        limited = run(store.create_organisation("limited"))
        other = run(store.create_organisation("other"))
        assert run(store.set_allowed_models(limited.org_id, ["m-2", "m-1"])) is True
        assert present(run(store.get_organisation(limited.org_id))).allowed_models == ("m-2", "m-1")
        assert [o.allowed_models for o in run(store.list_organisations())] == [("m-2", "m-1"), None]
        assert run(store.set_allowed_models(limited.org_id, ["m-3"])) is True
        assert present(run(store.get_organisation(limited.org_id))).allowed_models == ("m-3",)
        assert run(store.set_allowed_models(limited.org_id, None)) is True
        assert present(run(store.get_organisation(limited.org_id))).allowed_models is None
        assert present(run(store.get_organisation(other.org_id))).allowed_models is None

    def test_empty_allow_list_is_distinct_from_none(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("closed"))
        assert run(store.set_allowed_models(organisation.org_id, [])) is True
        assert present(run(store.get_organisation(organisation.org_id))).allowed_models == ()

    def test_allowed_models_of_unknown_organisation(self, store: Store, run: RunCoroutine) -> None:
        assert run(store.set_allowed_models("org_missing", ["m-1"])) is False
        assert run(store.list_organisations()) == []

    # -- credentials -----------------------------------------------------------------------------------

    def test_create_get_list_credentials(self, store: Store, run: RunCoroutine) -> None:
        first = run(store.create_organisation("first"))
        second = run(store.create_organisation("second"))
        a = run(store.create_credential(first.org_id, "ci", "hc_a", "hash-a"))
        b = run(store.create_credential(second.org_id, "web", "hc_b", "hash-b"))
        assert (a.client_id, a.org_id, a.name, a.secret_hash, a.disabled) == (
            "hc_a",
            first.org_id,
            "ci",
            "hash-a",
            False,
        )
        assert run(store.get_credential("hc_a")) == a
        assert run(store.list_credentials()) == [a, b]
        assert run(store.list_credentials(second.org_id)) == [b]
        assert run(store.list_credentials("org_missing")) == []
        assert run(store.get_credential("hc_missing")) is None

    def test_credential_for_unknown_organisation(self, store: Store, run: RunCoroutine) -> None:
        with pytest.raises(ReferenceNotFoundError):
            run(store.create_credential("org_missing", "x", "hc_x", "hash"))
        assert run(store.list_credentials()) == []

    def test_duplicate_client_id(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("o"))
        run(store.create_credential(organisation.org_id, "one", "hc_same", "hash-1"))
        with pytest.raises(AlreadyExistsError):
            run(store.create_credential(organisation.org_id, "two", "hc_same", "hash-2"))
        assert present(run(store.get_credential("hc_same"))).secret_hash == "hash-1"

    def test_disable_enable_and_active_credentials(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("o"))
        run(store.create_credential(organisation.org_id, "a", "hc_a", "h"))
        run(store.create_credential(organisation.org_id, "b", "hc_b", "h"))
        assert run(store.active_credentials()) == {"hc_a": organisation.org_id, "hc_b": organisation.org_id}
        assert run(store.set_credential_disabled("hc_a", True)) is True
        assert present(run(store.get_credential("hc_a"))).disabled is True
        assert run(store.active_credentials()) == {"hc_b": organisation.org_id}
        assert run(store.set_credential_disabled("hc_a", False)) is True
        assert present(run(store.get_credential("hc_a"))).disabled is False
        assert set(run(store.active_credentials())) == {"hc_a", "hc_b"}
        assert run(store.set_credential_disabled("hc_missing", True)) is False

    def test_delete_credential(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("o"))
        run(store.create_credential(organisation.org_id, "a", "hc_a", "h"))
        assert run(store.delete_credential("hc_a")) is True
        assert run(store.delete_credential("hc_a")) is False
        assert run(store.get_credential("hc_a")) is None
        assert run(store.active_credentials()) == {}

    # -- publishers ------------------------------------------------------------------------------------

    def test_create_get_list_publishers(self, store: Store, run: RunCoroutine) -> None:
        first = run(store.create_organisation("first"))
        second = run(store.create_organisation("second"))
        own = run(store.create_publisher(first.org_id, "Sermons"))
        shared = run(store.create_publisher(second.org_id, "GlooGrounded", shared=True))
        assert str(uuid.UUID(own.publisher_id, version=4)) == own.publisher_id
        assert (own.org_id, own.name, own.shared) == (first.org_id, "Sermons", False)
        assert shared.shared is True
        assert run(store.get_publisher(own.publisher_id)) == own
        assert run(store.get_publisher(str(uuid.uuid4()))) is None
        assert run(store.list_publishers()) == [own, shared]
        assert run(store.list_publishers(first.org_id)) == [own]

    def test_publisher_names_unique_within_an_organisation(self, store: Store, run: RunCoroutine) -> None:
        first = run(store.create_organisation("first"))
        second = run(store.create_organisation("second"))
        run(store.create_publisher(first.org_id, "Library"))
        with pytest.raises(AlreadyExistsError):
            run(store.create_publisher(first.org_id, "Library"))
        other = run(store.create_publisher(second.org_id, "Library"))
        assert other.org_id == second.org_id
        assert len(run(store.list_publishers())) == 2

    def test_shared_publisher_names_unique_across_organisations(self, store: Store, run: RunCoroutine) -> None:
        first = run(store.create_organisation("first"))
        second = run(store.create_organisation("second"))
        run(store.create_publisher(first.org_id, "GlooGrounded", shared=True))
        with pytest.raises(AlreadyExistsError):
            run(store.create_publisher(second.org_id, "GlooGrounded", shared=True))

    def test_publisher_for_unknown_organisation(self, store: Store, run: RunCoroutine) -> None:
        with pytest.raises(ReferenceNotFoundError):
            run(store.create_publisher("org_missing", "x"))

    def test_find_publisher_prefers_own_then_shared(self, store: Store, run: RunCoroutine) -> None:
        owner = run(store.create_organisation("owner"))
        caller = run(store.create_organisation("caller"))
        stranger = run(store.create_organisation("stranger"))
        shared = run(store.create_publisher(owner.org_id, "Common", shared=True))
        run(store.create_publisher(stranger.org_id, "Private"))
        assert run(store.find_publisher(caller.org_id, "Common")) == shared
        assert run(store.find_publisher(caller.org_id, "Private")) is None
        assert run(store.find_publisher(caller.org_id, "Nothing")) is None
        own = run(store.create_publisher(caller.org_id, "Common"))
        assert run(store.find_publisher(caller.org_id, "Common")) == own
        assert run(store.find_publisher(stranger.org_id, "Common")) == shared
        assert run(store.find_publisher(caller.org_id, "common")) is None  # names are case-sensitive

    def test_delete_publisher(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("o"))
        publisher = run(store.create_publisher(organisation.org_id, "p"))
        assert run(store.delete_publisher(publisher.publisher_id)) is True
        assert run(store.delete_publisher(publisher.publisher_id)) is False
        assert run(store.find_publisher(organisation.org_id, "p")) is None
        run(store.create_publisher(organisation.org_id, "p"))  # the name is free again

    # -- cascade, concurrency, health ------------------------------------------------------------------

    def test_deleting_an_organisation_cascades(self, store: Store, run: RunCoroutine) -> None:
        doomed = run(store.create_organisation("doomed"))
        kept = run(store.create_organisation("kept"))
        run(store.create_credential(doomed.org_id, "a", "hc_doomed", "h"))
        run(store.create_credential(kept.org_id, "a", "hc_kept", "h"))
        doomed_publisher = run(store.create_publisher(doomed.org_id, "p", shared=True))
        kept_publisher = run(store.create_publisher(kept.org_id, "p"))
        assert run(store.delete_organisation(doomed.org_id)) is True
        assert run(store.get_organisation(doomed.org_id)) is None
        assert run(store.get_credential("hc_doomed")) is None
        assert run(store.get_publisher(doomed_publisher.publisher_id)) is None
        assert run(store.active_credentials()) == {"hc_kept": kept.org_id}
        assert run(store.list_publishers()) == [kept_publisher]

    def test_concurrent_writes_all_land(self, store: Store, run: RunCoroutine) -> None:
        organisation = run(store.create_organisation("busy"))

        async def many() -> None:
            await asyncio.gather(
                *(store.create_credential(organisation.org_id, f"c{n}", f"hc_{n}", "h") for n in range(50)),
                *(store.create_publisher(organisation.org_id, f"p{n}") for n in range(50)),
            )

        run(many())
        assert len(run(store.active_credentials())) == 50
        assert len(run(store.list_publishers(organisation.org_id))) == 50

    def test_ping(self, store: Store, run: RunCoroutine) -> None:
        assert run(store.ping()) is True
