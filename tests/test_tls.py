"""TLS: verification stays on, and SSL_CERT_FILE adds a custom CA."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_proc
from fakeserver import FakeServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeServer, Path]]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with FakeServer(tls=ctx) as srv:
        yield srv, cert


def test_unknown_certificate_is_refused(tls_server: tuple[FakeServer, Path]) -> None:
    srv, _ = tls_server
    res = run_proc(["--base-url", srv.url], "hello\n", env={"SSL_CERT_FILE": ""})
    assert res.code == 1
    errors = [ln for ln in res.err.splitlines() if ln.startswith("copilot-repl: error:")]
    assert len(errors) == 1
    assert srv.url.rsplit("/v1", 1)[0] in errors[0] and "CERTIFICATE_VERIFY_FAILED" in errors[0]
    assert "echo:" not in res.out


def test_ssl_cert_file_trusts_a_custom_ca(tls_server: tuple[FakeServer, Path]) -> None:
    srv, cert = tls_server
    res = run_proc(["--base-url", srv.url], "hello\n", env={"SSL_CERT_FILE": str(cert)})
    assert res.code == 0, res.err
    assert res.out.strip() == "echo: hello"
