"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """(certificate, key) PEM paths of a self-signed EC certificate for 127.0.0.1 and localhost,
    made once by the `openssl` CLI (the test is skipped without it)."""
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"
