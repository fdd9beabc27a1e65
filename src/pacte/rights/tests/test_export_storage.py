"""The export file: encrypted at rest under the person's key, delivered as a plain ZIP; dead builds reclaimed."""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from tests.testapp.models import Person

from pacte.accounts.services import user_create
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage
from pacte.rights import exports, models, services, tasks
from pacte.rights.flows import erasure as erasure_flow
from pacte.rights.flows import export as export_flow
from pacte.rights.models import RightsRequest, Status
from pacte.vault import stream

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
VALUES = ("Eve Leroy", "eve@example.fr", "4 rue Delta", "06 11 22 33 44", "Lyon")


@pytest.fixture(autouse=True)
def home(settings, tmp_path):
    """Each test has its own exports folder (the sweep deletes what it does not know)."""
    settings.PACTE_HOME = tmp_path
    return tmp_path


def _eve():
    user = user_create(
        email="eve@example.fr",
        password=PASSWORD,
        name="Eve Leroy",
        birth_date=None,
        language="en",  # every mail to Eve is in English, whatever page she asked from
        phone="06 11 22 33 44",
        postal_address={"lines": ["4 rue Delta"], "postcode": "69001", "city": "Lyon", "country": "FR"},
    )
    Person.objects.create(subject=user.subject, name="Eve Leroy", email="eve@example.fr", notes={"n": "x"})
    return user


def _request(user) -> RightsRequest:
    return services.request_create(
        subject=user.subject, kind="access", channel="portal", identity_check="signed_in", lang="en"
    )


def _members(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_stored_file_is_encrypted_and_the_download_is_the_plain_zip(monkeypatch) -> None:
    user = _eve()
    written = io.BytesIO()  # what the builder wrote, before encryption
    real_write = exports.export_write

    class Tee(io.RawIOBase):
        def __init__(self, out) -> None:
            self.out = out

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[override]
            written.write(data)
            return self.out.write(data)

        def tell(self) -> int:
            return self.out.tell()

    monkeypatch.setattr(exports, "export_write", lambda *, out, **kw: real_write(out=Tee(out), **kw))
    request = export_flow.export_build(request=_request(user))
    assert request.status == Status.DONE and request.export_file.endswith(".zip.enc")
    stored = (exports.export_dir() / request.export_file).read_bytes()
    assert stored.startswith(b"PSTR\x01") and b"PK\x03\x04" not in stored
    for value in VALUES:
        assert value.encode() not in stored
    assert os.listdir(exports.export_dir()) == [request.export_file]
    assert oct((exports.export_dir() / request.export_file).stat().st_mode & 0o777) == "0o600"

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"login": "eve@example.fr", "password": PASSWORD})
    response = client.get(f"/account/data/{request.pk}/download/")
    blob = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert int(response["Content-Length"]) == len(blob)
    assert response["Content-Disposition"] == 'attachment; filename="my-data.zip"'
    assert blob.startswith(b"PK\x03\x04")
    assert blob == written.getvalue()  # byte for byte what the builder wrote
    downloaded = _members(blob)
    assert set(downloaded) >= {"data.json", "index.html", "people.csv", "ledger.csv"}
    (person,) = json.loads(downloaded["data.json"])["records"]["people"]
    assert person["name"] == "Eve Leroy" and person["email"] == "eve@example.fr"


def test_after_the_erasure_no_copy_of_the_export_can_be_read(smtp_server) -> None:
    user = _eve()
    request = export_flow.export_build(request=_request(user))
    path = exports.export_dir() / request.export_file
    kept = path.read_bytes()  # someone kept a copy (a backup of the disk, a stray cp)
    erasure = services.request_create(
        subject=user.subject, kind="erasure", channel="portal", identity_check="signed_in"
    )
    erasure_flow.erasure_run(request=erasure)
    assert not path.exists()  # the file went with her…
    path.write_bytes(kept)  # …and a copy put back is useless
    with pytest.raises(stream.StreamKeyDestroyedError, match="destroyed"):
        b"".join(
            stream.subject_chunks(
                io.BytesIO(kept),
                subject_id=user.subject_id,
                retention_class=exports.EXPORT_RETENTION_CLASS,
                purpose=f"rights.export|{request.pk}",
            )
        )
    RightsRequest.objects.filter(pk=request.pk).update(export_file=path.name)
    request.refresh_from_db()
    with pytest.raises(PacteError) as refused:
        exports.export_open(request=request)
    assert refused.value.status == 410 and refused.value.code == "rights.export_unreadable"


@pytest.mark.parametrize("damage", ["truncate", "tamper", "replace"])
def test_a_truncated_or_tampered_file_is_refused_before_any_byte_is_sent(damage) -> None:
    user = _eve()
    request = export_flow.export_build(request=_request(user))
    path = exports.export_dir() / request.export_file
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        del blob[-stream.TAG_SIZE :]
    elif damage == "tamper":
        blob[len(blob) // 2] ^= 0x40
    else:  # another file of the same person, under another request's name
        other = export_flow.export_build(request=_request(user))
        blob = bytearray((exports.export_dir() / other.export_file).read_bytes())
    path.write_bytes(bytes(blob))
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.post("/accounts/login/", {"login": "eve@example.fr", "password": PASSWORD})
    response = client.get(f"/account/data/{request.pk}/download/")
    assert response.status_code == 410
    assert "Votre fichier ne peut plus être lu" in response.content.decode()


def test_a_change_in_the_middle_of_a_long_file_stops_the_download_short() -> None:
    user = _eve()
    Person.objects.bulk_create(  # enough records for several chunks, even compressed
        Person(subject=user.subject, name=os.urandom(75).hex(), notes={"i": index}) for index in range(1500)
    )
    request = export_flow.export_build(request=_request(user))
    path = exports.export_dir() / request.export_file
    blob = bytearray(path.read_bytes())
    assert len(blob) > 2 * stream.CHUNK_SIZE
    blob[stream.HEADER_SIZE + stream.CHUNK_SIZE + 100] ^= 0x01  # inside the second chunk
    path.write_bytes(bytes(blob))
    size, chunks = exports.export_open(request=request)
    received = next(chunks)  # the first chunk is intact and sent
    with pytest.raises(stream.VaultIntegrityError):
        for chunk in chunks:
            received += chunk
    assert len(received) < size  # the download ends short of its Content-Length: the browser says so


def _travel(monkeypatch, seconds: float) -> None:
    real = models.now
    monkeypatch.setattr(models, "now", lambda: real() + datetime.timedelta(seconds=seconds))


def _dead_build(user, *, attempts: int = 1) -> tuple[RightsRequest, str]:
    """A request whose build started, wrote part of its file and died (as after a SIGKILL)."""
    request = _request(user)
    name = export_flow._export_claim(request)
    assert name is not None
    (exports.export_dir() / name).write_bytes(b"PSTR\x01 half a file")
    RightsRequest.objects.filter(pk=request.pk).update(build_attempts=attempts)
    return request, name


def test_a_dead_build_is_built_again_once_its_lease_has_passed(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    user = _eve()
    request, dead_file = _dead_build(user)
    assert export_flow.exports_reclaim() == {"requeued": 0, "failed": 0, "finished": 0, "orphans": 0}
    assert (exports.export_dir() / dead_file).exists()  # alive as far as anyone knows
    _travel(monkeypatch, 901)
    with django_capture_on_commit_callbacks(execute=True):  # re-enqueued on commit; tests run tasks at once
        counts = export_flow.exports_reclaim()
    assert counts["requeued"] == 1 and counts["failed"] == 0
    request.refresh_from_db()
    assert request.status == Status.DONE and request.lease_until is None and request.build_file == ""
    assert request.build_attempts == 2
    assert os.listdir(exports.export_dir()) == [request.export_file]
    steps = Entry.objects.filter(type="rights.step", payload__request_id=str(request.pk))
    assert [e.payload["step"] for e in steps.order_by("seq")] == [
        "received",
        "identity_verified",
        "export_built",
        "notified",
    ]
    assert OutboxMessage.objects.filter(template="rights/export_ready").count() == 1
    assert export_flow.exports_reclaim() == {"requeued": 0, "failed": 0, "finished": 0, "orphans": 0}


def test_after_the_last_attempt_the_request_fails_and_the_person_is_told(monkeypatch) -> None:
    user = _eve()
    request, dead_file = _dead_build(user, attempts=3)
    _travel(monkeypatch, 901)
    assert export_flow.exports_reclaim()["failed"] == 1
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.export_file == "" and request.lease_until is None
    assert os.listdir(exports.export_dir()) == []
    (told,) = OutboxMessage.objects.filter(template="rights/export_failed")
    assert told.to == "eve@example.fr" and "could not prepare" in told.body
    assert Entry.objects.filter(type="rights.step", payload__step="export_failed").count() == 1
    assert export_flow.exports_reclaim()["failed"] == 0  # once
    assert export_flow.export_build(request=request).status == Status.FAILED  # a late task builds nothing
    assert os.listdir(exports.export_dir()) == []

    out = io.StringIO()
    call_command("rights", "list", stdout=out)
    assert str(request.pk) in out.getvalue() and "failed" in out.getvalue()  # staff still see it
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"login": "eve@example.fr", "password": PASSWORD})
    assert "We could not prepare your file" in client.get("/account/data/").content.decode()


def test_a_build_taken_for_dead_stops_and_keeps_nothing(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    user = _eve()
    request = _request(user)
    taken_over: list[str] = []

    def slow_write(*, subject, out, lang, progress):
        out.write(b"x" * 10)
        _travel(monkeypatch, 901)
        export_flow.exports_reclaim()  # this build looks dead: the reclaim hands the request on
        taken_over.append("yes")
        progress(1000)  # the next heartbeat finds the lease gone

    class Queue:
        queued: list[str] = []

        def enqueue(self, key: str) -> None:
            self.queued.append(key)

    monkeypatch.setattr(exports, "export_write", slow_write)

    monkeypatch.setattr(tasks, "export_build_task", Queue())
    with django_capture_on_commit_callbacks(execute=True):
        result = export_flow.export_build(request=request)
    assert taken_over and Queue.queued == [str(request.pk)]
    assert result.status == Status.RECEIVED and result.export_file == "" and result.build_file == ""
    assert os.listdir(exports.export_dir()) == []


def test_a_build_killed_before_telling_the_person_is_finished_by_the_reclaim(monkeypatch) -> None:
    user = _eve()
    request = _request(user)

    def killed(request, what, address=None):
        raise KeyboardInterrupt  # stands for a kill between the two steps

    monkeypatch.setattr(services, "request_notify", killed)
    with pytest.raises(KeyboardInterrupt):
        export_flow.export_build(request=request)
    monkeypatch.undo()
    request.refresh_from_db()
    assert request.status == Status.DONE and request.steps_done[-1] == "export_built"
    assert request.lease_until is not None  # held until the person is told
    assert export_flow.exports_reclaim()["finished"] == 0
    _travel(monkeypatch, 901)
    assert export_flow.exports_reclaim()["finished"] == 1
    request.refresh_from_db()
    assert request.steps_done[-1] == "notified" and request.lease_until is None
    assert OutboxMessage.objects.filter(template="rights/export_ready").count() == 1
    assert os.listdir(exports.export_dir()) == [request.export_file]
    assert export_flow.exports_reclaim()["finished"] == 0


def test_a_build_that_raises_gives_its_lease_back_and_leaves_no_file(monkeypatch) -> None:
    user = _eve()
    request = _request(user)

    def broken(**kwargs):
        kwargs["out"].write(b"y" * 100_000)
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "export_write", broken)
    with pytest.raises(RuntimeError):
        export_flow.export_build(request=request)
    assert os.listdir(exports.export_dir()) == []
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS and request.build_file == ""
    assert request.lease_until is not None and request.lease_until <= models.now()
    assert export_flow.exports_reclaim()["requeued"] == 1  # retried at the next reclaim, not a lease later


def test_the_sweep_deletes_old_files_no_request_points_at() -> None:
    user = _eve()
    done = export_flow.export_build(request=_request(user))
    building, part = _dead_build(user)
    folder = exports.export_dir()
    old = time.time() - 3600
    for name in ("orphan.zip.enc", "legacy.zip", "fresh.zip.enc"):
        (folder / name).write_bytes(b"data")
    for name in ("orphan.zip.enc", "legacy.zip", done.export_file, part):
        os.utime(folder / name, (old, old))
    assert exports.exports_sweep() == 2
    assert sorted(os.listdir(folder)) == sorted([done.export_file, part, "fresh.zip.enc"])
    shutil.rmtree(folder)
    assert exports.exports_sweep() == 0  # a missing folder is made again, not an error


def test_a_csv_waiting_on_disk_while_the_zip_is_built_is_encrypted_and_changes_nothing(
    monkeypatch, tmp_path
) -> None:
    user = _eve()
    for i in range(30):
        Person.objects.create(subject=user.subject, name=f"Eve {i}", email="eve@example.fr", notes={"n": i})
    in_memory = io.BytesIO()
    exports.export_write(subject=user.subject, out=in_memory, lang="en")
    assert list(exports.export_dir().iterdir()) == []  # nothing left behind

    kept = []

    def named_temporary_file(**kwargs):  # a spool file that stays, to look inside it
        handle = open(tmp_path / f"spool-{len(kept)}", "w+b")  # noqa: SIM115 - closed by the spool
        kept.append(handle.name)
        return handle

    monkeypatch.setattr(exports, "SPOOL_MEMORY", 100)
    monkeypatch.setattr(exports.tempfile, "TemporaryFile", named_temporary_file)
    on_disk = io.BytesIO()
    exports.export_write(subject=user.subject, out=on_disk, lang="en")

    assert len(kept) >= 3  # people.csv, ledger.csv and account.csv at least went to disk
    for name in kept:
        content = Path(name).read_bytes()
        assert content.startswith(stream.MAGIC)
        assert b"Eve" not in content and b"eve@example" not in content and b"Lyon" not in content
    with zipfile.ZipFile(in_memory) as first, zipfile.ZipFile(on_disk) as second:
        assert first.namelist() == second.namelist()
        for member in first.namelist():
            if member.endswith(".csv"):
                assert first.read(member) == second.read(member), member
        data = [json.loads(archive.read("data.json")) for archive in (first, second)]
    before, after = (dict(d, generated_at="") for d in data)
    assert before == after
    assert len(data[1]["records"]["people"]) == 31
