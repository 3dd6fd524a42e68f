"""`make demo`: migrate, seed, serve, and send live simulated traffic you can watch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.demo import DEMO_PEOPLE, demo_workbench_seed
from rules.demo import demo_policy_seed
from scoring.models import Integrator, Transaction
from scoring.services import api_key_issue

ADMIN_USER = "admin"


class Command(BaseCommand):
    help = "Run the demo: migrate, seed, start the server and send live simulated traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.getenv("PORT", "8000")))
        parser.add_argument("--rate", type=float, default=10.0)
        parser.add_argument("--duration", type=float, default=0, help="Seconds (0: until ^C).")
        parser.add_argument(
            "--history-days",
            type=int,
            default=30,
            help="Days of simulated history to train the first model on (0: rules only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        demo_policy_seed()
        if options["history_days"] and not Transaction.objects.exists():
            self._history_and_model(options["history_days"])
        password = self._admin()
        demo_workbench_seed(password=password)
        integrator, _ = Integrator.objects.get_or_create(name="simulator")
        key = api_key_issue(integrator=integrator).key
        url = f"http://127.0.0.1:{options['port']}"
        server = self._serve(options["port"])
        try:
            self._wait_healthy(url, server)
            self._announce(url, password)
            call_command(
                "simulate",
                live=True,
                url=url,
                key=key,
                rate=options["rate"],
                duration=options["duration"],
            )
        except KeyboardInterrupt:
            self.stdout.write("stopping")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    def _history_and_model(self, days: int) -> None:
        call_command("simulate", days=days, customers=500)
        try:
            call_command("train_model", promote=True)
        except CommandError as exc:
            self.stdout.write(f"No model: {exc}. Decisions rest on rules and lists.")
        if settings.FEATURE_STORE == "redis":
            # No beat runs in the demo; the in-process store publishes its own on start-up.
            call_command("refresh_cold_features")

    def _admin(self) -> str:
        password = os.getenv("DEMO_ADMIN_PASSWORD", "fraudops-demo")
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USER).exists():
            user_model.objects.create_superuser(ADMIN_USER, "", password)
        return password

    def _serve(self, port: int) -> subprocess.Popen[bytes]:
        # One ASGI process: the embedded default keeps features and the channel layer in memory.
        command = [
            sys.executable, "-m", "uvicorn", "fraudops.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ]  # fmt: skip
        return subprocess.Popen(command, cwd=settings.BASE_DIR)  # noqa: S603 - fixed argv

    def _wait_healthy(self, url: str, server: subprocess.Popen[bytes]) -> None:
        # The first health check warms the in-process feature store from the history.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"The server exited with {server.returncode}.")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=300) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise CommandError("The server did not become healthy within 300 s.")

    def _announce(self, url: str, password: str) -> None:
        people = ", ".join(f"{name} ({role})" for name, role in DEMO_PEOPLE)
        backend = "PostgreSQL + Redis" if settings.REDIS_URL else "SQLite + in-process store"
        self.stdout.write(
            f"\nFraudOps demo is running on {backend}. Look here:\n"
            f"  {url}/cases/                     the analysts' queues, live "
            f"(log in as {people}, each with the password {password})\n"
            f"  {url}/decisions/live             decisions as they happen "
            f"(log in as {ADMIN_USER} / {password})\n"
            f"  {url}/admin/scoring/decision/   every decision's full record\n"
            f"  {url}/admin/rules/rule/          rules, lists and thresholds\n"
            f"  {url}/api/docs/                  the API (OpenAPI)\n"
            f"  {url}/metrics                    Prometheus metrics\n"
            "Sending simulated traffic; a summary follows every 5 s. Ctrl-C stops.\n"
        )
