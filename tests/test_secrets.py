"""Client ids and secrets, the scrypt hash format, and the signing key file."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from homily.auth.keys import SIGNING_KEY_FILENAME, load_or_create_signing_key
from homily.auth.secrets import (
    DEFAULT_PARAMETERS,
    ScryptParameters,
    hash_secret,
    needs_rehash,
    new_client_id,
    new_client_secret,
    verify_secret,
)
from homily.settings import Settings

CHEAP = ScryptParameters(n=2**4, r=1, p=1)  # fast parameters for format tests; the default is tested once


def test_client_ids_and_secrets_have_their_shapes_and_do_not_repeat() -> None:
    ids = {new_client_id() for _ in range(200)}
    secrets_ = {new_client_secret() for _ in range(200)}
    assert len(ids) == 200
    assert len(secrets_) == 200
    assert all(re.fullmatch(r"hc_[A-Za-z0-9]{24}", client_id) for client_id in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", secret) for secret in secrets_)


def test_default_hash_verifies_and_describes_its_parameters() -> None:
    secret = new_client_secret()
    stored = hash_secret(secret)
    assert stored.startswith(f"scrypt$n={DEFAULT_PARAMETERS.n},r={DEFAULT_PARAMETERS.r},p={DEFAULT_PARAMETERS.p}$")
    assert secret not in stored
    assert verify_secret(secret, stored)
    assert not verify_secret(secret + "x", stored)
    assert not needs_rehash(stored)


def test_same_secret_hashes_differently_each_time() -> None:
    first, second = hash_secret("same", CHEAP), hash_secret("same", CHEAP)
    assert first != second
    assert verify_secret("same", first)
    assert verify_secret("same", second)


def test_old_parameters_still_verify_and_ask_for_rehash() -> None:
    stored = hash_secret("secret", CHEAP)
    assert verify_secret("secret", stored)
    assert needs_rehash(stored)
    assert not needs_rehash(stored, CHEAP)


@pytest.mark.parametrize("secret", ["", "ünïcødé 🙏", "a" * 1000, "with:colon and space"])
def test_unusual_secrets_round_trip(secret: str) -> None:
    stored = hash_secret(secret, CHEAP)
    assert verify_secret(secret, stored)
    assert not verify_secret(secret + " ", stored)


def _tampered(stored: str) -> list[str]:
    scheme, parameters, salt, digest = stored.split("$")
    flipped = ("A" if digest[0] != "A" else "B") + digest[1:]
    return [
        "",
        "plaintext",
        f"bcrypt${parameters}${salt}${digest}",
        f"{scheme}${parameters}${salt}",
        f"{scheme}$n=16,r=1${salt}${digest}",
        f"{scheme}$n=15,r=1,p=1${salt}${digest}",  # not a power of two
        f"{scheme}$n={2**30},r=8,p=1${salt}${digest}",  # absurd cost is refused, not attempted
        f"{scheme}$n=x,r=1,p=1${salt}${digest}",
        f"{scheme}${parameters}$!!!${digest}",
        f"{scheme}${parameters}${salt}$",
        f"{scheme}${parameters}${salt}${flipped}",
    ]


def test_malformed_or_tampered_hashes_never_verify() -> None:
    stored = hash_secret("secret", CHEAP)
    for bad in _tampered(stored):
        assert verify_secret("secret", bad) is False, bad
        assert needs_rehash(bad)


def test_signing_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new-dir")
    key = load_or_create_signing_key(settings)
    path = tmp_path / "new-dir" / SIGNING_KEY_FILENAME
    assert re.fullmatch(rb"[0-9a-f]{64}", key)
    assert path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_signing_key(settings) == key
    assert [p.name for p in path.parent.iterdir()] == [SIGNING_KEY_FILENAME]  # no temporary files left
    assert load_or_create_signing_key(Settings(data_dir=tmp_path / "other")) != key


def test_signing_key_setting_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    configured = "k" * 40
    settings = Settings(data_dir=tmp_path, signing_key=SecretStr(configured))
    assert load_or_create_signing_key(settings) == configured.encode()
    assert not (tmp_path / SIGNING_KEY_FILENAME).exists()
    with pytest.raises(ValueError, match="HOMILY_SIGNING_KEY"):
        load_or_create_signing_key(Settings(data_dir=tmp_path, signing_key=SecretStr("short")))


def test_file_key_can_be_copied_into_the_setting(tmp_path: Path) -> None:
    from_file = load_or_create_signing_key(Settings(data_dir=tmp_path))
    copied = Settings(data_dir=tmp_path / "replica", signing_key=SecretStr(from_file.decode()))
    assert load_or_create_signing_key(copied) == from_file


def test_truncated_key_file_is_an_error_not_silently_replaced(tmp_path: Path) -> None:
    (tmp_path / SIGNING_KEY_FILENAME).write_bytes(b"abc")
    with pytest.raises(ValueError, match="at least 32"):
        load_or_create_signing_key(Settings(data_dir=tmp_path))
    assert (tmp_path / SIGNING_KEY_FILENAME).read_bytes() == b"abc"
