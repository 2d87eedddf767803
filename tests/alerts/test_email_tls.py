"""Email over TLS against a real aiosmtpd server: STARTTLS and implicit TLS with AUTH, the server's
certificate verified (system store by default, `ca_file` to trust a self-signed one), clear errors."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerts.delivery.models import SmtpSettings, TargetSpec
from alerts.delivery.outbox import outbox_summary
from alerts.delivery.worker import deliver_due, send_test_alert
from alerts.errors import DeliveryError
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from scheduler.config import load_config
from scheduler.errors import ConfigError
from tests.alerts.test_delivery import T0, add_article, keyword_match
from tests.loopback import TLSSMTPSink

PASSWORD = "tls-pa55-w0rd-q7"


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path


def make_cert(directory: Path, name: str, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
              days: int = 30) -> Cert:
    """A self-signed server certificate (also usable as its own CA) for `hosts`, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"newswatch test {name}")])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths = Cert(directory / f"{name}.pem", directory / f"{name}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


@pytest.fixture
def server_cert(tmp_path: Path) -> Cert:
    return make_cert(tmp_path, "server")


@pytest.fixture
def starttls_sink(server_cert: Cert) -> Iterator[TLSSMTPSink]:
    with TLSSMTPSink(str(server_cert.cert), str(server_cert.key), password=PASSWORD) as sink:
        yield sink


@pytest.fixture
def implicit_sink(server_cert: Cert) -> Iterator[TLSSMTPSink]:
    with TLSSMTPSink(str(server_cert.cert), str(server_cert.key), implicit=True, password=PASSWORD) as sink:
        yield sink


def tls_target(sink: TLSSMTPSink, *, ca_file: Path | None, implicit: bool = False,
               password: str = PASSWORD) -> TargetSpec:
    smtp = SmtpSettings(host=sink.host, port=sink.port, username="newswatch", password=password,
                        starttls=not implicit, ssl=implicit, timeout=5.0,
                        ca_file=str(ca_file) if ca_file else None)
    return TargetSpec(name="mail", kind="email", smtp=smtp, sender="newswatch@alerts.example",
                      recipients=("analyst@example.org",))


def queue_one_alert(db: sqlite_utils.Database) -> None:
    add_article(db, "https://news.example/s", "Shoal standoff", "Coast guard ships at the shoal.")
    assert process_new_articles(db, keyword_match, {"maritime-disputes": ["mail"]}, now=T0).alerts_enqueued == 1


def test_starttls_with_auth_delivers(db, starttls_sink, server_cert):
    queue_one_alert(db)
    assert deliver_due(db, {"mail": tls_target(starttls_sink, ca_file=server_cert.cert)}, now=T0).delivered == 1
    assert starttls_sink.logins == ["newswatch"] and starttls_sink.tls_sessions == 1
    (message,) = starttls_sink.messages
    assert message["Subject"].startswith("[newswatch] Shoal standoff")


def test_implicit_tls_with_auth_delivers(implicit_sink, server_cert):
    send_test_alert(tls_target(implicit_sink, ca_file=server_cert.cert, implicit=True))
    assert implicit_sink.logins == ["newswatch"] and len(implicit_sink.messages) == 1


def test_certificates_are_verified_by_default(starttls_sink):
    """No ca_file: the system's CA store, which does not trust the test's self-signed certificate."""
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(tls_target(starttls_sink, ca_file=None))
    message = str(excinfo.value)
    assert excinfo.value.retryable is False
    assert f"the TLS certificate of 127.0.0.1:{starttls_sink.port} is not trusted by the system's CA store" in message
    assert "set smtp.ca_file" in message
    assert starttls_sink.messages == [] and starttls_sink.logins == []  # nothing, not even the password, sent


def test_a_wrong_ca_is_dead_lettered_with_what_to_fix(db, starttls_sink, tmp_path, caplog):
    other = make_cert(tmp_path, "other-ca")
    queue_one_alert(db)
    with caplog.at_level(logging.DEBUG):
        report = deliver_due(db, {"mail": tls_target(starttls_sink, ca_file=other.cert)}, now=T0)
    assert (report.attempted, report.dead) == (1, 1)  # not retryable: it will not heal by itself
    error = outbox_summary(db)["mail"]["last_error"]
    assert f"not trusted by the CA in smtp.ca_file {other.cert}" in error
    assert "set smtp.ca_file to the right CA certificate" in error and "(self-signed certificate)" in error
    assert starttls_sink.logins == [] and PASSWORD not in caplog.text and PASSWORD not in error


def test_implicit_tls_with_a_wrong_ca_fails_the_same_way(implicit_sink, tmp_path):
    other = make_cert(tmp_path, "other-ca")
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(tls_target(implicit_sink, ca_file=other.cert, implicit=True))
    assert excinfo.value.retryable is False and "set smtp.ca_file to the right CA certificate" in str(excinfo.value)


def test_a_certificate_for_another_host_is_refused(tmp_path):
    cert = make_cert(tmp_path, "elsewhere", hosts=("mail.elsewhere.example",))
    with TLSSMTPSink(str(cert.cert), str(cert.key), password=PASSWORD) as sink:
        with pytest.raises(DeliveryError) as excinfo:
            send_test_alert(tls_target(sink, ca_file=cert.cert))
        assert sink.logins == []
    assert excinfo.value.retryable is False and "not issued for 127.0.0.1" in str(excinfo.value)


def test_an_unreadable_ca_file_says_so(starttls_sink, tmp_path):
    garbage = tmp_path / "not-a-cert.pem"
    garbage.write_text("hello", encoding="utf-8")
    for path in (garbage, tmp_path / "missing.pem"):
        with pytest.raises(DeliveryError) as excinfo:
            send_test_alert(tls_target(starttls_sink, ca_file=path))
        assert excinfo.value.retryable is False
        assert f"smtp.ca_file {path} cannot be read as PEM certificates" in str(excinfo.value)


def test_implicit_tls_against_a_starttls_port_names_the_settings_to_check(starttls_sink, server_cert):
    with pytest.raises(DeliveryError) as excinfo:
        send_test_alert(tls_target(starttls_sink, ca_file=server_cert.cert, implicit=True))
    assert excinfo.value.retryable is False and "check port, ssl" in str(excinfo.value)


def test_config_ca_file_is_relative_to_the_config_file(tmp_path, server_cert):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "config.yaml"
    path.write_text("targets:\n  - {name: mail, kind: email, from: a@example.org, to: [b@example.org],\n"
                    "     smtp: {host: 127.0.0.1, ca_file: ../server.pem}}\n", encoding="utf-8")
    smtp = load_config(path, {}).targets["mail"].smtp
    assert smtp is not None and smtp.ca_file == str(server_cert.cert.resolve())
    path.write_text(path.read_text(encoding="utf-8").replace("../server.pem", "nope.pem"), encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, {})
    assert "ca_file" in str(excinfo.value) and "nope.pem" in str(excinfo.value) and "does not exist" in str(
        excinfo.value)
