#!/usr/bin/env python
"""The privacy notice page's requests/s against a bare Django view, same server, same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import alternate, figure, pacte_server  # noqa: E402


def main() -> None:
    with pacte_server(web_workers=2) as server:
        result = alternate(
            {"notice": server.url("/privacy/"), "bare": server.url("/_bench/bare")},
            rounds=3,
            seconds=3,
            connections=8,
            threads=1,
        )
    notice, bare = result["notice"], result["bare"]
    if notice["errors"] or bare["errors"]:
        print(f"# warning: non-2xx responses (notice {notice['errors']}, bare {bare['errors']})")
    figure("notice_rps", notice["rps"], "req/s")
    figure("bare_rps", bare["rps"], "req/s")
    figure("notice_p99", notice["p99_ms"], "ms")
    figure("notice_vs_bare_ratio", notice["rps"] / bare["rps"], "x")


if __name__ == "__main__":
    main()
