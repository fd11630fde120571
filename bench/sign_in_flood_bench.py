"""The console under a sign-in flood: 30 clients guessing unknown names, with the console's memory
(VmRSS sampled, VmHWM at the end, from /proc/PID/status) and an officer's /queue time beside it.

Run: .venv/bin/python bench/sign_in_flood_bench.py [--clients 30] [--attempts 10] [--no-rate-limit]

`cers-intake console --development` runs as a subprocess on a free loopback port over a fresh SQLite
database in a temporary folder. The baseline is the same process idle, measured in this run, and an
officer's GET /queue before the flood. --no-rate-limit raises the sign-in limits out of reach, so
that only the bound on parallel Argon2 checks holds the memory.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("cers-intake")
PASSWORD = "benchmark password 0123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    token = CSRF.search(client.get("/sign-in").text)
    return client.post("/sign-in", data={"name": name, "password": password, "csrf_token": token.group(1) if token else ""})


def queue_times(base: str, cookies: httpx.Cookies, rounds: int) -> list[float]:
    times = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=120) as client:
        for _ in range(rounds):
            started = time.perf_counter()
            assert client.get("/queue").status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--attempts", type=int, default=10, help="sign-in attempts per client")
    parser.add_argument("--no-rate-limit", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cers-flood-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERS_")}
        env.update(
            CERS_SETTINGS=str(ROOT / "settings.toml"),
            CERS_STORAGE__PATH=str(Path(tmp) / "var"),
            CERS_CONSOLE__SECRET_KEY="b" * 40,
            CERS_LOGGING__LEVEL="warning",
        )
        if args.no_rate_limit:
            env.update(CERS_CONSOLE__SIGN_IN_LIMIT_PER_ADDRESS="1000000/minute", CERS_CONSOLE__SIGN_IN_LIMIT_PER_NAME="1000000/minute")
        subprocess.run(
            [str(CLI), "officer", "add", "bench.officer", "--role", "officer", "--password-stdin"],
            env=env,
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        console = subprocess.Popen(
            [str(CLI), "console", "--development", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/sign-in", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or console.poll() is not None:
                        raise SystemExit("the console did not start") from None
                    time.sleep(0.1)
            officer = httpx.Client(base_url=base, timeout=60, follow_redirects=True)
            assert sign_in(officer, "bench.officer", PASSWORD).status_code == 200
            cookies = officer.cookies
            queue_times(base, cookies, 5)  # warm-up
            idle = memory_kib(console.pid)
            before = queue_times(base, cookies, 20)

            peak_rss = idle["VmRSS"]
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak_rss
                while not stop.is_set():
                    peak_rss = max(peak_rss, memory_kib(console.pid)["VmRSS"])
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            statuses: dict[int, int] = {}
            lock = threading.Lock()

            def client(n: int) -> None:
                with httpx.Client(base_url=base, timeout=120) as c:
                    for attempt in range(args.attempts):
                        status = sign_in(c, f"unknown{n}x{attempt}", "wrong password").status_code
                        with lock:
                            statuses[status] = statuses.get(status, 0) + 1

            started = time.monotonic()
            with ThreadPoolExecutor(args.clients + 1) as pool:
                flood = [pool.submit(client, n) for n in range(args.clients)]
                time.sleep(0.5)
                during = pool.submit(queue_times, base, cookies, 20).result()
                for f in flood:
                    f.result()
            elapsed = time.monotonic() - started
            stop.set()
            sampler.join()
            end = memory_kib(console.pid)
        finally:
            console.terminate()
            console.wait(10)

    mib = 1024
    answers = dict(sorted(statuses.items()))
    print(f"flood: {args.clients} clients x {args.attempts} sign-ins with unknown names in {elapsed:.1f} s; answers {answers}")
    print(
        f"console memory: idle VmRSS {idle['VmRSS'] / mib:.0f} MiB (baseline) | peak VmRSS sampled {peak_rss / mib:.0f} MiB | "
        f"VmHWM {end['VmHWM'] / mib:.0f} MiB | ratio HWM/idle {end['VmHWM'] / idle['VmRSS']:.2f}"
    )
    print(
        f"officer GET /queue p50/p95: before {statistics.median(before):.1f} / {sorted(before)[18]:.1f} ms | "
        f"during the flood {statistics.median(during):.1f} / {sorted(during)[18]:.1f} ms"
    )


if __name__ == "__main__":
    main()
