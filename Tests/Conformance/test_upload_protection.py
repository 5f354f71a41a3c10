"""What uploads leave on disk, against the real service: a password-protected document's clear
text never reaches `upload/` (it is sent from memory), every file the service writes under its
folder is for its user alone, and DELETE /api/uploads/{id} removes what was staged."""
import io
import json
import os
import stat
import time

import pytest
import requests
from PIL import Image

REFUSED = "http://127.0.0.1:9/nobody-listens"
PASSWORD = {"DWT-DOC-PASSWORD": "s3cret"}


@pytest.fixture()
def api(service):
    return service.http + "/api"


def document(api, headers=None, password=None):
    body = {"password": password} if password else {}
    uid = requests.post(f"{api}/storage/documents", json=body).json()["uid"]
    picture = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 90, 200)).save(picture, "PNG")
    imported = requests.post(f"{api}/storage/documents/{uid}/import", data=picture.getvalue(), headers=headers)
    assert imported.ok, imported.text
    return uid


def start(api, uid, url, headers=None, **extra):
    started = requests.post(f"{api}/uploads", headers=headers, json={
        "document": uid, "format": "application/pdf", "target": {"type": "http-post", "url": url},
        "options": {"maxAttempts": 1}, **extra})
    assert started.status_code == 202, started.text
    return started.json()["id"]


def final(api, upload):
    deadline = time.time() + 30
    while time.time() < deadline:
        status = requests.get(f"{api}/uploads/{upload}").json()
        if status["state"] in ("succeeded", "failed", "canceled"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"upload {upload} did not end")


def staged_files(service):
    folder = os.path.join(service.home, "upload")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_protected_document_is_never_staged_in_clear(api, service, receiver):
    process, port = receiver
    uid = document(api, PASSWORD, password="s3cret")
    before = staged_files(service)
    failed = start(api, uid, REFUSED, PASSWORD)
    status = final(api, failed)
    assert status["state"] == "failed", status
    assert staged_files(service) == before, "a protected document left files in upload/"
    # Sent from memory, it arrives whole.
    sent = start(api, uid, f"http://127.0.0.1:{port}/receive", PASSWORD)
    assert final(api, sent)["state"] == "succeeded"
    [received] = json.loads(process.stdout.readline())["files"]
    pdf = requests.get(f"{api}/storage/documents/{uid}/content", headers=PASSWORD).content
    assert abs(received["size"] - len(pdf)) < 64 and staged_files(service) == before
    assert requests.delete(f"{api}/uploads/{failed}").status_code == 200
    assert requests.delete(f"{api}/storage/documents/{uid}", headers=PASSWORD).status_code == 204


def test_delete_removes_what_a_failed_upload_staged(api, service):
    uid = document(api)
    upload = start(api, uid, REFUSED)
    status = final(api, upload)
    assert status["state"] == "failed", status
    data = os.path.join(service.home, "upload", upload + ".data")
    assert os.path.exists(data) and stat.S_IMODE(os.stat(data).st_mode) == 0o600
    removed = requests.delete(f"{api}/uploads/{upload}")
    assert removed.status_code == 200 and removed.json()["state"] == "failed", removed.text
    assert not os.path.exists(data) and not any(name.startswith(upload) for name in staged_files(service))
    assert requests.get(f"{api}/uploads/{upload}").status_code == 404
    assert requests.delete(f"{api}/storage/documents/{uid}").status_code == 204


def test_every_file_under_the_service_folder_is_private(api, service):
    # Something in each area: a protected and a plain document, a staged upload, the log.
    protected = document(api, PASSWORD, password="s3cret")
    plain = document(api)
    upload = start(api, plain, REFUSED)
    final(api, upload)
    exposed = []
    for folder, _, names in os.walk(service.home):
        for name in names:
            path = os.path.join(folder, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            # The CA's and the server's certificates are public by nature; their keys are not.
            public = folder.endswith("cert") and name.endswith(".pem") and "key" not in name
            if mode & 0o077 and not public:
                exposed.append((path, oct(mode)))
    assert not exposed, exposed
    requests.delete(f"{api}/uploads/{upload}")
    requests.delete(f"{api}/storage/documents/{plain}")
    requests.delete(f"{api}/storage/documents/{protected}", headers=PASSWORD)
