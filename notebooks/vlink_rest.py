"""A few lines of `requests` around VLink's REST API, shared by the notebooks.

The node and key come from the environment: VLINK_URL (default http://127.0.0.1:6333, where `vlink demo --serve`
and `vlink node` listen) and VLINK_API_KEY (none by default: the demo node runs without keys; a `vlink node` prints
the admin key it generates on its first start).
"""
import os
from pathlib import Path

import requests

URL = os.environ.get("VLINK_URL", "http://127.0.0.1:6333").rstrip("/")
API_KEY = os.environ.get("VLINK_API_KEY", "")

# The repository's bundled market file (S&P 500 daily bars 2000-2020), loaded the way `vlink demo` loads it.
SP500_FILE = Path(__file__).resolve().parent.parent / "data" / "market" / "sp500-daily.csv"
DEMO_MARKET = "SPX"
DEMO_SOURCE = "demo:sp500-daily.csv"

# Six markets' monthly closes 2000-2010, in the monthly regime collection `vlink demo` creates.
MONTHLY_FILE = Path(__file__).resolve().parent.parent / "data" / "market" / "monthly-2000-2010.csv"
MONTHLY_COLLECTION = "regimes-monthly"
MONTHLY_SPEC = {"bar_interval": "28d", "feature_set": "regime-v1:w12:r1,3,6,12:v3,6:q3:o1,3"}
MONTHLY_SOURCE = "demo:monthly-2000-2010.csv"

session = requests.Session()
if API_KEY:
    session.headers["api-key"] = API_KEY


class VLinkError(Exception):
    """The node refused a request; the message is its problem detail."""


def _answer(response):
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
        except ValueError:
            detail = response.text[:300]
        raise VLinkError(f"{response.request.method} {response.url}: {response.status_code} {detail}")
    body = response.json()
    return body["result"] if isinstance(body, dict) and "result" in body else body


def get(path, **params):
    """GET a route; the `result` of its envelope."""
    return _answer(session.get(URL + path, params=params, timeout=60))


def post(path, body=None, **params):
    """POST JSON to a route; the `result` of its envelope."""
    return _answer(session.post(URL + path, json=body, params=params, timeout=120))


def put(path, body=None, **params):
    """PUT JSON to a route; the `result` of its envelope."""
    return _answer(session.put(URL + path, json=body, params=params, timeout=120))


def delete(path, **params):
    """DELETE a route; the `result` of its envelope."""
    return _answer(session.delete(URL + path, params=params, timeout=60))


def upload(path, data, content_type, **params):
    """POST a raw body (a file, or bytes) to a streaming route such as an import or an ingest."""
    response = session.post(URL + path, data=data, params=params, headers={"Content-Type": content_type}, timeout=600)
    return _answer(response)


def wait_ready(seconds=60):
    """Waits until the node answers /readyz with 200 (it is Up and its catalog answers)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            if session.get(URL + "/readyz", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise VLinkError(f"no ready VLink node at {URL} (start one with `vlink demo --serve` or `vlink node`)")
        time.sleep(0.5)


def ensure_sp500():
    """Ingests the bundled S&P 500 file as market SPX unless the node already holds all of it.

    The ingest uses the demo's source name, so the node applies each line once however often this runs (and a node
    that ran `vlink demo` already has it)."""
    rows = sum(1 for line in SP500_FILE.open() if line.strip()) - 1
    markets = get("/markets")["markets"]
    held = next((m for m in markets if m["market"] == DEMO_MARKET), None)
    if held and held["bars"] >= rows and held["vectors"] > 0:
        return held
    with SP500_FILE.open("rb") as body:
        upload("/markets/ingest", body, "text/csv", kind="bars", market=DEMO_MARKET, source=DEMO_SOURCE)
    return next(m for m in get("/markets")["markets"] if m["market"] == DEMO_MARKET)


def ensure_monthly():
    """Creates the monthly regime collection and ingests the bundled six markets' file unless the node holds all of it.

    The same collection, configuration and source name as `vlink demo`, so running both applies each line once."""
    put(f"/regimes/collections/{MONTHLY_COLLECTION}", MONTHLY_SPEC)
    rows = sum(1 for line in MONTHLY_FILE.open() if line.strip()) - 1
    held = get("/markets", collection=MONTHLY_COLLECTION)["markets"]
    if sum(m["bars"] for m in held) < rows:
        with MONTHLY_FILE.open("rb") as body:
            upload("/markets/ingest", body, "text/csv", kind="bars", collection=MONTHLY_COLLECTION, source=MONTHLY_SOURCE)
        held = get("/markets", collection=MONTHLY_COLLECTION)["markets"]
    return held
