"""A local HTTPS stand-in for Google's token endpoint and the Firestore
REST documents:commit method.  It checks what the real services would:
the RS256 JWT (signature with the service account's public key, header,
claims), the token exchange form (RFC 7523), the bearer token, and the
exact commit request shape; failures land in `errors` for the test."""

import base64
import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/datastore"
PROJECT = "test-proj"
DATABASE = "projects/%s/databases/(default)" % PROJECT
COLLECTION = "events"
COMMIT_PATH = "/v1/%s/documents:commit" % DATABASE


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def from_value(v):
    """A Firestore Value back to plain JSON."""
    (kind, x), = v.items()
    if kind == "stringValue":
        return x
    if kind == "integerValue":
        assert isinstance(x, str), "integerValue must be a string"
        return int(x)
    if kind == "doubleValue":
        return float(x)
    if kind == "booleanValue":
        return bool(x)
    if kind == "nullValue":
        assert x is None
        return None
    if kind == "mapValue":
        return {k: from_value(e) for k, e in x.get("fields", {}).items()}
    if kind == "arrayValue":
        return [from_value(e) for e in x.get("values", [])]
    raise AssertionError("unknown value kind %s" % kind)


class ServiceAccount:
    """A fresh RSA key and the JSON key file Google would hand out."""

    def __init__(self, directory, token_uri):
        self.key = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        self.email = "sensor@%s.iam.gserviceaccount.com" % PROJECT
        self.key_id = os.urandom(20).hex()
        self.token_uri = token_uri
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.path = os.path.join(directory, "sa.json")
        with open(self.path, "w") as f:
            json.dump({"type": "service_account", "project_id": PROJECT,
                       "private_key_id": self.key_id, "private_key": pem,
                       "client_email": self.email, "client_id": "1234",
                       "token_uri": token_uri}, f, indent=2)


class Standin:
    def __init__(self, tls, port, directory):
        self.port = port
        self.base = "https://localhost:%d" % port
        self.account = ServiceAccount(directory, self.base + "/token")
        self.errors = []
        self.docs = {}
        self.tokens = []           # issued, in order
        self.commits = 0
        self.fail_commits = 0      # answer this many commits with 503
        self.reject_token_once = False   # next commit gets a 401
        # A commit holding a document this is true for gets a 400, the
        # way Firestore refuses a whole commit for one invalid write.
        self.refuses = lambda doc: False
        self.lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls.cert, tls.key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def collection_url(self):
        return "%s/v1/%s/documents/%s" % (self.base, DATABASE, COLLECTION)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def error(self, text):
        with self.lock:
            self.errors.append(text)

    # ---- checks ----

    def check_jwt(self, jwt):
        head64, claims64, sig64 = jwt.split(".")
        header = json.loads(b64url_decode(head64))
        claims = json.loads(b64url_decode(claims64))
        self.account.key.public_key().verify(
            b64url_decode(sig64), (head64 + "." + claims64).encode(),
            padding.PKCS1v15(), hashes.SHA256())   # raises if bad
        assert header == {"alg": "RS256", "typ": "JWT",
                          "kid": self.account.key_id}, header
        assert claims["iss"] == self.account.email, claims
        assert claims["aud"] == self.account.token_uri, claims
        assert claims["scope"] == SCOPE, claims
        assert claims["exp"] - claims["iat"] == 3600, claims
        assert abs(claims["iat"] - time.time()) < 120, claims

    def token(self, form):
        assert form.keys() == {"grant_type", "assertion"}, form
        assert form["grant_type"] == [GRANT], form
        self.check_jwt(form["assertion"][0])
        with self.lock:
            tok = "ya29.test-%d-%s" % (len(self.tokens), os.urandom(8).hex())
            self.tokens.append(tok)
        return {"access_token": tok, "expires_in": 3599,
                "token_type": "Bearer"}

    def commit(self, body):
        assert body.keys() == {"writes"}, body.keys()
        assert 0 < len(body["writes"]) <= 500
        docs = {}
        for w in body["writes"]:
            assert w.keys() == {"update"}, w.keys()
            u = w["update"]
            assert u.keys() == {"name", "fields"}, u.keys()
            prefix = "%s/documents/%s/" % (DATABASE, COLLECTION)
            assert u["name"].startswith(prefix), u["name"]
            doc = from_value({"mapValue": {"fields": u["fields"]}})
            assert u["name"][len(prefix):] == doc["event_id"], u["name"]
            docs[u["name"]] = doc
        return docs

    # ---- HTTP ----

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                ctype = self.headers.get("Content-Type")
                try:
                    if self.path == "/token":
                        assert ctype == "application/x-www-form-urlencoded"
                        self.reply(200, standin.token(
                            urllib.parse.parse_qs(raw.decode(),
                                                  strict_parsing=True)))
                        return
                    assert self.path == COMMIT_PATH, self.path
                    assert ctype == "application/json", ctype
                    auth = self.headers.get("Authorization", "")
                    with standin.lock:
                        valid = auth.startswith("Bearer ") and \
                            auth[7:] in standin.tokens
                        reject = standin.reject_token_once
                        standin.reject_token_once = False
                        fail = standin.fail_commits > 0
                        standin.fail_commits -= fail
                        standin.commits += 1
                    if not valid or reject:
                        if not valid:
                            standin.error("bad Authorization on a commit")
                        self.reply(401, {"error": {"code": 401}})
                        return
                    docs = standin.commit(json.loads(raw))
                    refused = [d["event_id"] for d in docs.values()
                               if standin.refuses(d)]
                    if refused:
                        self.reply(400, {"error": {
                            "code": 400, "status": "INVALID_ARGUMENT",
                            "message": "invalid document %s" % refused[0]}})
                        return
                    if fail:
                        self.reply(503, {"error": {"code": 503}})
                        return
                    with standin.lock:
                        standin.docs.update(docs)
                    self.reply(200, {"writeResults": [{}] * len(docs),
                                     "commitTime": "2026-11-23T00:00:00Z"})
                except Exception as e:  # noqa: BLE001 - reported to the test
                    standin.error("%s: %r" % (self.path, e))
                    self.reply(400, {"error": {"code": 400,
                                               "message": repr(e)}})

        return Handler
