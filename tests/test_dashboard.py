"""The service's live dashboard (``GET /``) in a real headless browser.

Chromium loads the page from a running service; ``--dump-dom`` after a virtual-time
budget shows the DOM once the page's script has fetched ``/stats`` and filled it in, so
the test sees live numbers, not the placeholders of the static file. ``--screenshot``
renders it as an image (``ZKACTORS_WRITE_SCREENSHOT=1`` keeps it as docs/dashboard.png).

Chromium is found on PATH or installed with apt (Debian's ``chromium``); when neither
works the test fails with the reason, never skips.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import find_or_install
from test_service import ServerThread

import zkactors.service as service
from zkactors import RuntimeConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path, installing Debian's package if it is missing."""
    return find_or_install(NAMES, "chromium", "the dashboard tests")


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


def _text(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert match, f"no #{element_id} in the page"
    return html.unescape(match.group(1))


def test_the_dashboard_fills_in_live_numbers(chromium: str, tmp_path: Path) -> None:
    app = service.create_app(RuntimeConfig(calibrate="off"))
    with ServerThread(app) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for n in (30, 40, 30, 50, 30):  # two repeats: cache hits
                assert client.post("/prove", json={"program": "fib", "inputs": [n]}).is_success
            assert client.post("/prove", json={"program": "power", "inputs": [2, 20]}).is_success
        page = f"{server.url}/"
        dom = _headless(
            chromium, tmp_path / "profile", "--virtual-time-budget=4000", "--dump-dom", page
        ).stdout
        shot = tmp_path / "dashboard.png"
        _headless(
            chromium,
            tmp_path / "profile",
            "--virtual-time-budget=4000",
            "--window-size=1100,500",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            page,
        )

    # The script ran, fetched /stats and rendered it (the static file says "–").
    updates = re.search(r'<body data-updates="(\d+)"', dom)
    assert updates and int(updates.group(1)) >= 1, dom[:500]
    assert _text(dom, "requests") == "6 / 6"
    assert _text(dom, "proofs") == "4"
    assert _text(dom, "memory_hit_rate") == "33.3 %"  # 2 hits of 6 lookups
    assert _text(dom, "store_hit_rate") == "no store"
    assert _text(dom, "cache").startswith("on, 4 ")
    assert re.fullmatch(r"[\d.]+ m?s / [\d.]+ m?s / [\d.]+ m?s", _text(dom, "latency"))
    assert float(_text(dom, "throughput")) >= 0
    assert _text(dom, "status").startswith("ready")
    recent = dom[dom.index('id="recent"') :]
    assert recent.count("<tr>") == 6
    assert "<td>power</td>" in recent and "<td>1048576</td>" in recent
    assert "<td>cache</td>" in recent and "<td>proved</td>" in recent

    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    if os.environ.get("ZKACTORS_WRITE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / "dashboard.png")
