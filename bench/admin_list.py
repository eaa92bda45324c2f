"""Figures for the web admin, each a ratio measured in the same run.

1. The image list page (admin -> services -> API, 10,000 images) against its *floor*: an
   admin view that only reads the session and makes the same call through services (no
   form, no page). Goal <= 1.3x. And against the API call it makes (GET
   /api/v1/image/?limit=25...): goal <= 2.0x.
2. The tag page of an image with 1,000 tags against a hello-world Django view on the admin
   server. Goal <= 3x, and zero registry calls while rendering (the registry URL points at
   a counting server; every request to it is reported). Then against its own floor (the
   session and the tag's API call, no page).
3. The image page of that image against the list page.
Run: .venv/bin/python bench/admin_list.py [--images 10000] [--rounds 200]
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

BIG = "127.0.0.1:5000/bench/many-tags"


class CountingRegistry(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        CountingRegistry.calls += 1
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_POST = do_DELETE = do_GET

    def log_message(self, *args):
        pass


def sign_in(admin: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{admin}/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{admin}/login/",
        data={
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": password,
            "next": "/",
        },
        headers={"Referer": f"{admin}/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, "could not sign in to the admin"
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    registry = ThreadingHTTPServer(("127.0.0.1", 0), CountingRegistry)
    threading.Thread(target=registry.serve_forever, daemon=True).start()
    api_port, admin_port = harness.free_port(), harness.free_port()
    harness.configure(
        REGISTRY_URL=f"http://127.0.0.1:{registry.server_port}",
        TUTUM_API_URL=f"http://127.0.0.1:{api_port}",
    )
    username, password, key = harness.populate(args.images, big_image_tags=1000)
    servers = [harness.start_gunicorn(api_port), harness.start_gunicorn(admin_port)]
    try:
        api, admin = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{admin_port}"
        browser = sign_in(admin, username, password)
        client = requests.Session()
        auth = {"Authorization": f"ApiKey {username}:{key}"}
        api_call = f"{api}/api/v1/image/?limit=25&offset=0&order_by=name"
        print(f"{args.images} images, one with 1,000 tags; {args.rounds} interleaved rounds")

        def against_the_api_call(label: str, url: str, note: str) -> None:
            page_s, api_s = harness.compare(
                lambda: browser.get(url).raise_for_status(),
                lambda: client.get(api_call, headers=auth).raise_for_status(),
                args.rounds,
            )
            print(
                f"{label:<15} {page_s * 1000:6.2f} ms  its API call {api_s * 1000:6.2f} ms  "
                f"ratio {page_s / api_s:4.2f}x ({note})"
            )

        against_the_api_call("image list page", f"{admin}/", "goal <= 2.0x")
        against_the_api_call(
            "floor", f"{admin}/baseline/floor/", "session + services call, no form, no page"
        )
        list_s, floor_s = harness.compare(
            lambda: browser.get(f"{admin}/").raise_for_status(),
            lambda: browser.get(f"{admin}/baseline/floor/").raise_for_status(),
            args.rounds,
        )
        print(
            f"list vs floor   {list_s * 1000:6.2f} ms  floor        {floor_s * 1000:6.2f} ms  "
            f"ratio {list_s / floor_s:4.2f}x (goal <= 1.3x)"
        )

        CountingRegistry.calls = 0
        tag_page = f"{admin}/images/{BIG}/-/tags/v0500/"
        tag_s, hello_s = harness.compare(
            lambda: browser.get(tag_page).raise_for_status(),
            lambda: browser.get(f"{admin}/baseline/hello/").raise_for_status(),
            args.rounds,
        )
        print(
            f"tag page        {tag_s * 1000:6.2f} ms  hello world  {hello_s * 1000:6.2f} ms  "
            f"ratio {tag_s / hello_s:4.2f}x (goal <= 3x)  registry calls {CountingRegistry.calls}"
        )
        tag_floor = f"{admin}/baseline/tag-floor/{BIG}/-/v0500/"
        tag_s, floor_s = harness.compare(
            lambda: browser.get(tag_page).raise_for_status(),
            lambda: browser.get(tag_floor).raise_for_status(),
            args.rounds,
        )
        print(
            f"tag page        {tag_s * 1000:6.2f} ms  its floor    {floor_s * 1000:6.2f} ms  "
            f"ratio {tag_s / floor_s:4.2f}x (session + the tag's API call, no page)"
        )
        detail_s, list_s = harness.compare(
            lambda: browser.get(f"{admin}/images/{BIG}/-/").raise_for_status(),
            lambda: browser.get(f"{admin}/").raise_for_status(),
            args.rounds,
        )
        print(
            f"image page      {detail_s * 1000:6.2f} ms  list page    {list_s * 1000:6.2f} ms  "
            f"ratio {detail_s / list_s:4.2f}x (the 1,000-tag image, 25 tags a page)"
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        registry.shutdown()


if __name__ == "__main__":
    main()
