"""The VPS kit under deploy/: systemd units pass `systemd-analyze verify`, the nginx site passes `nginx -t`."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import REPO

DEPLOY = Path(REPO) / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def needs(tool: str):
    return pytest.mark.skipif(
        shutil.which(tool) is None,
        reason=f"{tool} is not installed (Debian: apt-get install {'systemd' if tool.startswith('systemd') else tool}; "
        "`make system-deps` does it)",
    )


@needs("systemd-analyze")
@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_units_verify_cleanly(unit, tmp_path):
    # The units name /opt/megamsg; verify them against this checkout, whose programs exist.
    local = tmp_path / unit.name
    local.write_text(unit.read_text().replace("/opt/megamsg", REPO))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_units_restart_on_failure_as_a_dedicated_user_with_the_hardening(unit):
    settings = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
    assert settings["Restart"] == "on-failure" and settings["User"] == "megamsg"
    assert settings["EnvironmentFile"] == "/etc/megamsg/megamsg.env"
    assert settings["ProtectSystem"] == "strict" and "/var/lib/megamsg" in settings["ReadWritePaths"].split()
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome", "RestrictSUIDSGID"):
        assert settings[key] == "yes", key
    assert settings["CapabilityBoundingSet"] == ""
    assert settings["WantedBy"] == "multi-user.target"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=megamsg.example.com",
        ]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@needs("nginx")
@needs("openssl")
def test_nginx_site_passes_nginx_t(tmp_path):
    cert, key = _self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "megamsg.conf").read_text()
    site = re.sub(r"ssl_certificate \S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", site)
    (tmp_path / "megamsg.conf").write_text(site)
    # A main configuration of its own: nothing of the machine's nginx set-up is read or written.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n  include {tmp_path}/megamsg.conf;\n}}\n"
    )
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr, done.stderr


@pytest.mark.skipif(
    shutil.which("caddy") is None,
    reason="caddy is not installed (Debian: apt-get install caddy; left out of `make system-deps`: ~36 MB)",
)
def test_caddyfile_adapts_and_validates():
    done = subprocess.run(
        ["caddy", "adapt", "--config", str(DEPLOY / "caddy" / "Caddyfile"), "--validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    adapted = json.loads(done.stdout)
    routes = json.dumps(adapted["apps"]["http"]["servers"])
    assert '"dial": "127.0.0.1:8000"' in routes and '"max_size": 150000000' in routes


def test_nginx_and_caddy_pass_the_forwarded_headers_trusted_proxies_expects():
    nginx = (DEPLOY / "nginx" / "megamsg.conf").read_text()
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "X-Forwarded-Host $host"):
        assert f"proxy_set_header {header};" in nginx
    assert "proxy_pass http://127.0.0.1:8000;" in nginx
    assert "reverse_proxy 127.0.0.1:8000" in (DEPLOY / "caddy" / "Caddyfile").read_text()
    env = (DEPLOY / "megamsg.env.example").read_text()
    assert "MEGAMSG_TRUSTED_PROXIES=1" in env and "MEGAMSG_SECURE_COOKIES=1" in env


def test_the_admin_wrapper_is_valid_shell():
    done = subprocess.run(
        ["sh", "-n", str(DEPLOY / "megamsg-cli")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
