"""ScanBridge's upload extension (/api/uploads) end to end: a stored document rendered as PDF
and sent by the service to a real HTTP receiver on 127.0.0.1; status, events, errors."""
import io
import json

import pytest
import requests
from PIL import Image



def document_with_a_page(api):
    doc = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    picture = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(picture, "PNG")
    assert requests.post(f"{api}/storage/documents/{doc}/import", data=picture.getvalue()).ok
    return doc


def test_upload_a_document_as_pdf(service, receiver):
    process, port = receiver
    api = service.http + "/api"
    doc = document_with_a_page(api)
    started = requests.post(f"{api}/uploads", json={
        "document": doc, "format": "application/pdf", "fileName": "scan.pdf",
        "target": {"type": "http-post", "url": f"http://127.0.0.1:{port}/receive", "fieldName": "file",
                   "formFields": {"batch": "42"}}})
    assert started.status_code == 202, started.text
    upload = started.json()
    events = requests.get(f"{api}/uploads/{upload['id']}/events", stream=True, timeout=30)
    assert events.headers["Content-Type"] == "text/event-stream"
    names = [line.split(":", 1)[1].strip() for line in events.iter_lines(decode_unicode=True) if line.startswith("event:")]
    assert names[-1] == "upload-succeeded", names
    status = requests.get(f"{api}/uploads/{upload['id']}").json()
    assert status["state"] == "succeeded", status
    arrived = json.loads(process.stdout.readline())
    assert arrived["fields"]["batch"] == "42"
    [received] = arrived["files"]
    assert received["field"] == "file" and received["filename"] == "scan.pdf"
    assert received["content_type"] == "application/pdf"
    # The same document rendered again differs only in its dates and ID, so sizes match closely.
    pdf = requests.get(f"{api}/storage/documents/{doc}/content").content
    assert abs(received["size"] - len(pdf)) < 64, (received["size"], len(pdf))
    assert any(u["id"] == upload["id"] for u in requests.get(f"{api}/uploads").json())


def test_upload_errors(service):
    api = service.http + "/api"
    missing = requests.get(f"{api}/uploads/u-nonexistent")
    assert missing.status_code == 404 and missing.json()["code"] == -2400
    bad = requests.post(f"{api}/uploads", json={"document": "x", "target": {"type": "carrier-pigeon"}})
    assert bad.status_code == 400 and bad.json()["code"] == -2113
    unknown_doc = requests.post(f"{api}/uploads", json={"document": "nosuchdoc", "target": {"type": "http-put", "url": "http://127.0.0.1:9/x"}})
    assert unknown_doc.status_code == 404 and unknown_doc.json()["code"] == -1040
    doc = document_with_a_page(api)
    from_page = requests.post(f"{api}/uploads", headers={"Origin": "https://app.example"}, json={
        "document": doc, "target": {"type": "http-put", "url": "http://127.0.0.1:9/x"}, "options": {"caFile": "/etc/passwd"}})
    assert from_page.status_code == 400 and "caFile" in from_page.json()["message"]
