"""Request-level tests of the security policy in front of every route: the Host check (DNS
rebinding), CORS with the AllowedOrigins allowlist, preflights with Private Network Access, the
service page's framing and CSRF protection."""
import os
import re
import socket

import requests

DEVICE = "sane:test:0"


def error_code(response):
    return response.json()["code"]


# MARK: - Host


def test_loopback_hosts_with_the_port_are_allowed(service, api):
    port = service.http_port
    for host in [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "LOCALHOST:%d" % port]:
        response = requests.get(f"{api}/api/server", headers={"Host": host}, timeout=10)
        assert response.status_code == 200, host


def test_configured_host_name_is_allowed(service, api):
    assert requests.get(f"{api}/api/server", headers={"Host": f"scanner.lan:{service.http_port}"}, timeout=10).ok


def test_rebinding_hosts_are_refused_before_any_route(service, api, page_base):
    port = service.http_port
    for host in [f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", f"127.0.0.1:{port + 1}",
                 "localhost:notaport", f"[::2]:{port}"]:
        response = requests.get(f"{api}/api/server", headers={"Host": host}, timeout=10)
        assert response.status_code == 403, host
        assert error_code(response) == -1016
        assert "DNS rebinding" in response.json()["message"]
    # A state-changing request with a rebound Host does nothing.
    response = requests.post(f"{api}/api/storage/documents", json={}, headers={"Host": f"evil.example:{port}"}, timeout=10)
    assert response.status_code == 403
    # The service page is behind the same check.
    assert requests.get(page_base + "/", headers={"Host": f"evil.example:{service.service_port}"}, timeout=10).status_code == 403


def test_request_without_host_passes(service):
    # HTTP/1.0 tools may omit Host; browsers never do.
    with socket.create_connection(("127.0.0.1", service.http_port), timeout=10) as s:
        s.sendall(b"GET /api/server/version HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"), data[:80]


# MARK: - CORS


def test_allowed_origin_gets_cors_headers(api, allowed_origin):
    response = requests.get(f"{api}/api/server", headers={"Origin": allowed_origin}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    # Errors carry the headers too, so the page can read the DWT error.
    response = requests.get(f"{api}/api/storage/documents/nosuchdocument", headers={"Origin": allowed_origin}, timeout=10)
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == allowed_origin


def test_service_pages_own_origin_is_allowed(service, api):
    own = f"http://127.0.0.1:{service.service_port}"
    response = requests.get(f"{api}/api/server", headers={"Origin": own}, timeout=10)
    assert response.ok and response.headers["Access-Control-Allow-Origin"] == own


def test_other_origins_are_refused_before_the_route_runs(api, refused_origin):
    for origin in [refused_origin, "https://evil.example", "null", "http://localhost", "http://127.0.0.1:1"]:
        response = requests.get(f"{api}/api/server", headers={"Origin": origin}, timeout=10)
        assert response.status_code == 403, origin
        assert error_code(response) == -1016
        assert "AllowedOrigins" in response.json()["message"]
    # A "simple" cross-site request (no preflight in a browser) must not start a scan.
    response = requests.post(f"{api}/api/device/scanners/jobs", headers={"Origin": refused_origin, "Content-Type": "text/plain"},
                             data='{"device": "%s", "autoRun": false}' % DEVICE, timeout=10)
    assert response.status_code == 403
    # …so the scanner is free for a local program right after.
    job = requests.post(f"{api}/api/device/scanners/jobs", json={"device": DEVICE, "autoRun": False}, timeout=30)
    assert job.status_code == 201, job.text
    assert requests.delete(f"{api}/api/device/scanners/jobs/{job.json()['jobuid']}", timeout=30).status_code == 204


def test_requests_without_origin_pass(api):
    # Local programs (curl, DWT REST clients) send no Origin.
    response = requests.get(f"{api}/api/server", timeout=10)
    assert response.ok and "Access-Control-Allow-Origin" not in response.headers


def test_public_sdk_assets_load_from_any_origin(api, page_base, refused_origin):
    for base in [api, page_base]:
        for path in ["/scanbridge.js", "/scanbridge.d.ts"]:
            response = requests.get(base + path, headers={"Origin": refused_origin}, timeout=10)
            assert response.status_code == 200, path
            assert response.headers["Access-Control-Allow-Origin"] == "*"
    script = requests.get(api + "/scanbridge.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "export async function connect" in script.text


# MARK: - Preflights


def preflight(api, origin, path="/api/device/scanners/jobs", method="POST", headers="content-type", private=True):
    fields = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        fields["Access-Control-Request-Headers"] = headers
    if private:
        fields["Access-Control-Request-Private-Network"] = "true"
    return requests.options(api + path, headers=fields, timeout=10)


def test_preflight_for_allowed_origin_with_private_network_access(api, allowed_origin):
    response = preflight(api, allowed_origin, headers="content-type,dwt-product-key")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == allowed_origin
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods
    assert response.headers["Access-Control-Allow-Headers"] == "content-type,dwt-product-key"
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    # Without the PNA request header there is no PNA answer.
    plain = preflight(api, allowed_origin, private=False)
    assert plain.status_code == 204 and "Access-Control-Allow-Private-Network" not in plain.headers


def test_preflight_for_other_origins_is_refused(api, refused_origin):
    for origin in [refused_origin, "https://evil.example", "null"]:
        response = preflight(api, origin, path="/api/storage/documents", method="DELETE")
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Private-Network" not in response.headers


def test_preflight_on_the_service_page_listener(service, page_base, allowed_origin, refused_origin):
    assert preflight(page_base, allowed_origin, path="/").status_code == 204
    assert preflight(page_base, refused_origin, path="/").status_code == 403


# MARK: - Service page


def test_service_page_cannot_be_framed_and_shows_the_service(service, page_base):
    response = requests.get(page_base + "/", timeout=30)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.text
    for needle in ["ScanBridge is running", 'id="version"', 'id="engine"', 'id="uptime"', "frontend-tester", 'href="/demo"',
                   "scanbridge.d.ts", 'name="allowedOrigins"', 'name="logLevel"']:
        assert needle in html, needle
    demo = requests.get(page_base + "/demo", timeout=10)
    assert "frame-ancestors 'none'" in demo.headers["Content-Security-Policy"]
    assert f"http://127.0.0.1:{service.http_port}" in demo.text


def form_token(page_base):
    html = requests.get(page_base + "/", timeout=30).text
    return re.search(r'name="token" value="([0-9a-f]+)"', html).group(1)


def test_settings_form_refuses_cross_site_posts(service, page_base, allowed_origin):
    token = form_token(page_base)
    own = page_base
    form = {"token": token, "logLevel": "1", "allowedOrigins": "https://attacker.example"}
    # No token, a wrong token, a foreign (even allowed) origin, a cross-site fetch: all refused.
    assert requests.post(page_base + "/settings", data={"allowedOrigins": "https://attacker.example"},
                         headers={"Origin": own}, allow_redirects=False, timeout=10).status_code == 403
    assert requests.post(page_base + "/settings", data={**form, "token": "0" * len(token)},
                         headers={"Origin": own}, allow_redirects=False, timeout=10).status_code == 403
    assert requests.post(page_base + "/settings", data=form, headers={"Origin": allowed_origin},
                         allow_redirects=False, timeout=10).status_code == 403
    assert requests.post(page_base + "/settings", data=form, headers={"Origin": "https://attacker.example"},
                         allow_redirects=False, timeout=10).status_code == 403
    assert requests.post(page_base + "/settings", data=form, headers={"Sec-Fetch-Site": "cross-site"},
                         allow_redirects=False, timeout=10).status_code == 403
    # Nothing changed.
    assert preflight(service.http, "https://attacker.example").status_code == 403


def test_settings_form_changes_origins_and_log_level(service, page_base, allowed_origin):
    token = form_token(page_base)
    extra = "https://second-app.example"
    response = requests.post(page_base + "/settings", allow_redirects=False, timeout=10,
                             headers={"Origin": page_base, "Sec-Fetch-Site": "same-origin"},
                             data={"token": token, "logLevel": "14", "allowedOrigins": f"{allowed_origin}\r\n{extra}"})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/?saved=1"
    assert preflight(service.http, extra).status_code == 204
    assert requests.get(f"{service.http}/api/server", timeout=10).json()["logLevel"] == 14
    with open(os.path.join(service.home, "DSConfiguration.ini"), encoding="utf-8") as f:
        saved = f.read()
    assert re.search(r"AllowedOrigins\s*=\s*" + re.escape(f"{allowed_origin},{extra}"), saved), saved
    # A bad entry is refused with a message, and changes nothing.
    bad = requests.post(page_base + "/settings", allow_redirects=False, timeout=10, headers={"Origin": page_base},
                        data={"token": token, "allowedOrigins": "not an origin/path"})
    assert bad.status_code == 400 and "is not an origin" in bad.text
    assert preflight(service.http, extra).status_code == 204
    # Back to the fixture's allowlist.
    assert requests.post(page_base + "/settings", allow_redirects=False, timeout=10, headers={"Origin": page_base},
                         data={"token": token, "logLevel": "1", "allowedOrigins": allowed_origin}).status_code == 303
    assert preflight(service.http, extra).status_code == 403
