"""Configuration precedence and the generated secret key."""

import os
import stat

from megamsg.config import load_config


def test_secret_key_generated_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("MEGAMSG_SECRET_KEY", raising=False)
    first = load_config({"DATA_DIR": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"DATA_DIR": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_environment_and_dotenv(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("MEGAMSG_SEND_TIMEOUT=12\nMEGAMSG_WHATSAPP_DRIVER=simulator\n")
    monkeypatch.setenv("MEGAMSG_DOTENV", str(dotenv))
    monkeypatch.setenv("MEGAMSG_WHATSAPP_DRIVER", "neonize")  # the real environment wins
    monkeypatch.setenv("MEGAMSG_ALLOW_PRIVATE_URLS", "yes")
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/3")
    monkeypatch.delenv("MEGAMSG_REDIS_URL", raising=False)
    for key in ("MEGAMSG_SEND_TIMEOUT",):
        monkeypatch.delenv(key, raising=False)
    config = load_config({"DATA_DIR": str(tmp_path)})
    assert config["SEND_TIMEOUT"] == 12.0
    assert config["WHATSAPP_DRIVER"] == "neonize"
    assert config["ALLOW_PRIVATE_URLS"] is True
    assert config["PORT"] == 9123
    assert config["REDIS_URL"] == "redis://example.invalid:6379/3"
    assert config["DATABASE"] == str(tmp_path / "megamsg.db")


def test_shared_session_store_without_instance_placeholder_is_refused(tmp_path):
    import pytest

    from megamsg.config import ConfigError

    with pytest.raises(ConfigError, match=r"\{instance_id\}"):
        load_config({"DATA_DIR": str(tmp_path), "SESSION_STORE": "postgres://u:p@db/megamsg"})
    ok = load_config({"DATA_DIR": str(tmp_path), "SESSION_STORE": "postgres://u:p@db/megamsg_{instance_id}"})
    assert ok["SESSION_STORE"].endswith("{instance_id}")
