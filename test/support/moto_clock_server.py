"""Start moto's IAM emulator with one adjustable clock.

moto takes CreateDate and LastUsedDate from ``moto.core.utils.utcnow`` (imported by name into
``moto.iam.models``). This launcher replaces that function with one that adds an offset, and adds
one route to the WSGI app so that tests can read and move the emulator's "now":

  GET  /_clock                 -> {"now": "<ISO-8601>", "offsetSeconds": <float>}
  POST /_clock {"now": "<ISO>"} -> sets the offset so that the emulator's clock reads that instant
  POST /_auth {"enforce": true|false} -> from now on, checks (or stops checking) every request's
                                        signature and IAM policies (moto's own authorization,
                                        which INITIAL_NO_AUTH_ACTION_COUNT otherwise switches on
                                        after a count of requests)

With KEYROTATION_MOTO_INDEXED_LAST_USED=1 (set by bench:audit --accounts), GetAccessKeyLastUsed
finds a key through an index instead of moto's scan of every key of every account (5,500 keys:
about 5 ms of the emulator's CPU per call), so that a benchmark over many accounts measures the
audit rather than that scan. Answers are the same: a hit is checked against the user's current
keys, and a miss rebuilds the index before moto's own NotFound.

Usage: python3 moto_clock_server.py PORT   (binds 127.0.0.1 only)
"""

import datetime
import json
import logging
import os
import sys

import moto.backends as moto_backends
import moto.core.utils as core_utils
from moto import settings as moto_settings
import moto.iam.models as iam_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_real_utcnow = core_utils.utcnow
_offset = {"seconds": 0.0}


def shifted_utcnow() -> datetime.datetime:
    return _real_utcnow() + datetime.timedelta(seconds=_offset["seconds"])


core_utils.utcnow = shifted_utcnow
iam_models.utcnow = shifted_utcnow

# Two costs of moto's server that are not the emulation: it lists its own package folder on every
# request (os.listdir and isdir for each service, to route the request), and werkzeug logs every
# request line (errors are still logged). Measured with py-spy during bench:audit: about 8 % and
# 15 % of the emulator's time.
_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if os.environ.get("KEYROTATION_MOTO_INDEXED_LAST_USED") == "1":
    _scan_last_used = iam_models.IAMBackend.get_access_key_last_used
    _key_index: dict = {}

    def _current(backend, key):
        for account in list(iam_models.iam_backends.values()):
            user = account[backend.partition].users.get(key.user_name)
            if user is not None and key in user.access_keys:
                return {"user_name": key.user_name, "last_used": key.last_used}
        return None

    def _indexed_last_used(self, access_key_id):
        key = _key_index.get(access_key_id)
        found = _current(self, key) if key is not None else None
        if found is None:
            _key_index.clear()
            for k in self.get_all_access_keys_for_all_users():
                _key_index[k.access_key_id] = k
            key = _key_index.get(access_key_id)
            found = _current(self, key) if key is not None else None
        return found if found is not None else _scan_last_used(self, access_key_id)

    iam_models.IAMBackend.get_access_key_last_used = _indexed_last_used


def _parse_iso(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


class ClockApp:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_auth" and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if body.get("enforce") else float("inf")
            payload = json.dumps({"enforce": bool(body.get("enforce"))}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        if environ.get("PATH_INFO") != "/_clock":
            return self.inner(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            target = _parse_iso(body["now"])
            _offset["seconds"] = (target - _real_utcnow()).total_seconds()
        payload = json.dumps(
            {"now": shifted_utcnow().isoformat() + "Z", "offsetSeconds": _offset["seconds"]}
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, ClockApp(app), threaded=True)


if __name__ == "__main__":
    main()
