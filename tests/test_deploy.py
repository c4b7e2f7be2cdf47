"""The sample systemd unit and nginx block the README points to are checked with the
tools that read them, where the machine has them (CI installs nginx; systemd-analyze
comes with systemd)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "scripts" / "deploy"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_is_valid(tmp_path):
    # verify checks that ExecStart's program exists: point it at the yishi installed here.
    yishi = Path(sys.executable).parent / "yishi"
    unit = (DEPLOY / "yishi.service").read_text(encoding="utf-8")
    assert "/opt/yishi/venv/bin/yishi run --config /etc/yishi/config.toml" in unit
    (tmp_path / "yishi.service").write_text(
        unit.replace("/opt/yishi/venv/bin/yishi", str(yishi)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "./yishi.service"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.skipif(NGINX is None or shutil.which("openssl") is None,
                    reason="no nginx (CI installs nginx-light) or no openssl")
def test_the_nginx_block_is_valid(tmp_path):
    block = (DEPLOY / "nginx-yishi.conf").read_text(encoding="utf-8")
    # The certificate the block names, made up here.
    live = "/etc/letsencrypt/live/bot.example.org"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=bot.example.org", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True,
                   timeout=60)
    (tmp_path / "yishi.conf").write_text(block.replace(live, str(tmp_path)), encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {tmp_path}/yishi.conf;\n}}\n",
        encoding="utf-8")
    done = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-c",
                           str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "location = /telegram" in block and "proxy_pass http://yishi;" in block
    assert "server 127.0.0.1:8081;" in block
