"""ScanBridge's own OpenAPI document, checked against the live service by schemathesis: no
5xx, and every response matches the documented status codes, content types and schemas."""
import os
import shutil
import subprocess
import sys
import tempfile

import requests

from conftest import start_service, stop_service

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"


def test_openapi_document_lists_the_dwt_api(service):
    document = requests.get(f"{service.http}/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in ["/api/server", "/api/device/scanners/jobs", "/api/device/scanners/jobs/{jobuid}/next-page-info",
                 "/api/storage/documents/{uid}/content", "/api/process/read-barcode"]:
        assert path in document["paths"], path


def test_schemathesis_finds_no_server_error_and_no_schema_violation():
    # A service of its own: schemathesis changes settings and creates jobs and documents.
    home = tempfile.mkdtemp(prefix="scanbridge-schemathesis-")
    service = start_service(home)
    try:
        schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
        result = subprocess.run(
            [schemathesis, "run", f"{service.http}/api/openapi.json", "--checks", CHECKS,
             # Upload paths are included: an upload renders its document before it contacts the
             # target, and no generated document uid names a stored document, so none leaves
             # this machine.
             "--max-examples", "50", "--request-timeout", "15", "--generation-deterministic", "--no-color"],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert " passed" in result.stdout
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)
