"""Test-only HTTPS fake of a custom cloud (Azure Stack Hub style): an OIDC authority and a sliver of ARM.

Serves, on one loopback HTTPS port:
  * GET  /{tenant}/v2.0/.well-known/openid-configuration   (what MSAL asks when instance discovery is disabled)
  * POST /{tenant}/oauth2/v2.0/token                        (client credentials -> bearer token; records `scope`)
  * GET  /subscriptions                                      (one subscription, "Contoso Stack")
  * GET/PUT/HEAD /subscriptions/{sub}/resourcegroups/{rg}    (requires the bearer token it issued)
Every request is logged (method, path, headers, form) so tests can assert what the real clients sent.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

SUBSCRIPTION_ID = "6f2a4f6e-0b8a-4d5e-9b62-3c1f2d8e7a10"
SUBSCRIPTION_NAME = "Contoso Stack"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    status: int = 0


class TlsFakeCloud:
    def __init__(self, ssl_context: ssl.SSLContext, tenant: str = "contoso-tenant", client_id: str = "app-id",
                 client_secret: str = "s3cret") -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.token = "tok-" + secrets.token_hex(8)
        self.log: list[Seen] = []
        self.token_scopes: list[str] = []
        self.groups: dict[str, dict[str, Any]] = {}
        self.device_codes: dict[str, str] = {}  # device_code -> client_id, approved at once (the user "signed in")
        self.username = "admin@contoso.local"
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any = None, headers: Optional[dict] = None, seen: Optional[Seen] = None) -> None:
                data = b"" if body is None or self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", str(uuid.uuid4()))
                self.send_header("x-ms-correlation-request-id", str(uuid.uuid4()))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if data:
                    self.wfile.write(data)
                if seen is not None:
                    seen.status = status

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                seen = Seen(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()})
                ctype = (self.headers.get("Content-Type") or "").lower()
                if raw and "x-www-form-urlencoded" in ctype:
                    seen.form = parse_qs(raw.decode())
                with fake._lock:
                    fake.log.append(seen)
                try:
                    fake._route(self, seen, raw)
                except Exception as exc:  # pragma: no cover - shows up as a 500 in the test
                    self._send(500, {"error": {"code": "FakeError", "message": repr(exc)}}, seen=seen)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"https://127.0.0.1:{self.port}"
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle --
    def start(self) -> "TlsFakeCloud":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "TlsFakeCloud":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _user_token(self, client_id: str, issuer: str, scope: str) -> dict:
        def b64(obj: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        now = int(time.time())
        claims = {"iss": issuer, "aud": client_id, "sub": "user-sub", "oid": "user-oid", "tid": self.tenant,
                  "preferred_username": self.username, "iat": now, "nbf": now, "exp": now + 3600}
        id_token = b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + ".sig"
        return {"token_type": "Bearer", "scope": scope, "expires_in": 3600, "access_token": self.token,
                "id_token": id_token, "client_info": b64({"uid": "user-oid", "utid": self.tenant})}

    # -- routing --
    def _route(self, h: Any, seen: Seen, raw: bytes) -> None:
        path = seen.path.rstrip("/")
        lower = path.lower()
        t = self.tenant.lower()
        issuer = f"{self.base}/{self.tenant}/v2.0"
        if seen.method == "GET" and lower == f"/{t}/v2.0/.well-known/openid-configuration":
            h._send(200, {
                "issuer": issuer,
                "authorization_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{self.base}/{self.tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "tenant_region_scope": None,
            }, seen=seen)
            return
        if seen.method == "POST" and lower == f"/{t}/oauth2/v2.0/devicecode":
            code = "dc-" + secrets.token_hex(6)
            self.device_codes[code] = (seen.form.get("client_id") or [""])[0]
            h._send(200, {"device_code": code, "user_code": "FAKE-CODE", "verification_uri": f"{self.base}/devicelogin",
                          "expires_in": 900, "interval": 0,
                          "message": f"To sign in, use a web browser to open the page {self.base}/devicelogin and enter the code FAKE-CODE."},
                    seen=seen)
            return
        if seen.method == "POST" and lower == f"/{t}/oauth2/v2.0/token":
            form = seen.form
            grant = (form.get("grant_type") or [""])[0]
            scope = (form.get("scope") or [""])[0]
            with self._lock:
                self.token_scopes.append(scope)
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                client_id = self.device_codes.get((form.get("device_code") or [""])[0])
                if not client_id:
                    h._send(400, {"error": "expired_token", "error_description": "AADSTS70020: expired"}, seen=seen)
                    return
                h._send(200, self._user_token(client_id, issuer, scope), seen=seen)
                return
            if grant != "client_credentials" or (form.get("client_id") or [""])[0] != self.client_id \
                    or (form.get("client_secret") or [""])[0] != self.client_secret:
                h._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}, seen=seen)
                return
            h._send(200, {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
                          "access_token": self.token}, seen=seen)
            return

        # ARM: bearer token required
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            h._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}},
                    headers={"WWW-Authenticate": 'Bearer authorization_uri="%s", error="invalid_token"' % self.base},
                    seen=seen)
            return
        if seen.method == "GET" and lower == "/subscriptions":
            h._send(200, {"value": [{
                "id": f"/subscriptions/{SUBSCRIPTION_ID}",
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": self.tenant,
                "displayName": SUBSCRIPTION_NAME,
                "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Internal_2014-09-01", "quotaId": "Internal_2014-09-01",
                                         "spendingLimit": "Off"},
                "authorizationSource": "RoleBased",
            }]}, seen=seen)
            return
        prefix = f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/"
        if lower.startswith(prefix):
            name = path[len(prefix):]
            key = name.lower()
            rid = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
            if seen.method == "PUT":
                body = json.loads(raw or b"{}")
                created = key not in self.groups
                self.groups[key] = {"id": rid, "name": name, "type": "Microsoft.Resources/resourceGroups",
                                    "location": body.get("location"), "tags": body.get("tags") or {},
                                    "properties": {"provisioningState": "Succeeded"}}
                h._send(201 if created else 200, self.groups[key], seen=seen)
                return
            if seen.method == "HEAD":
                h._send(204 if key in self.groups else 404, None, seen=seen)
                return
            if seen.method == "GET":
                if key in self.groups:
                    h._send(200, self.groups[key], seen=seen)
                else:
                    h._send(404, {"error": {"code": "ResourceGroupNotFound",
                                            "message": f"Resource group '{name}' could not be found."}}, seen=seen)
                return
        h._send(404, {"error": {"code": "NotFound", "message": f"no route for {seen.method} {seen.path}"}}, seen=seen)
