"""`make demo`: migrate, seed, serve, and send live simulated traffic you can watch."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone

from cases.demo import DEMO_PEOPLE, demo_workbench_seed
from rules.demo import demo_policy_seed
from scoring import serving
from scoring.integrators import api_key_issue
from scoring.models import Integrator, ModelStatus, ModelVersion, ShadowScore, Transaction
from scoring.shadow import shadow_scores_fill
from scoring.simulation.drift_loop import (
    DEMO_DAYS,
    DRIFT_DAY,
    challenger_decide,
    demo_timeline,
    drift_loop_run,
)
from scoring.simulation.traffic import DEFAULT_FRAUD_BOOST

ADMIN_USER = "admin"
# History and live traffic are drawn from one population: the same seed and size for both.
DEMO_SEED = 7
DEMO_CUSTOMERS = 500
DEFAULT_RATE = 2.0
# Issuers send chargebacks, never "legit": a payment counts as legit once LABEL_MATURITY_DAYS
# (30) have passed without one. With DEMO_DAYS (50) or more the first run plays the learning
# loop on its history (scoring/simulation/drift_loop.py): a champion trained before a new fraud
# pattern, the drift check, a challenger retrained, then scored in shadow on the live traffic
# and promoted (or rejected) on its figures. Fewer days: one model on what has matured.
DEFAULT_HISTORY_DAYS = DEMO_DAYS
# The challenger is decided once it has scored this many live decisions in shadow.
DEMO_SHADOWED = 40
# How long a stopping server may take before it is killed.
STOP_TIMEOUT_SECONDS = 10


class PortTaken(CommandError):
    pass


class Command(BaseCommand):
    help = "Run the demo: migrate, seed, start the server and send live simulated traffic."
    # The system checks import every URL's view, the model stack among them (seconds): they run
    # once the port is held, so that a busy port is refused at once.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.getenv("PORT", "8000")),
            help="Serve on 127.0.0.1:PORT (default 8000, or $PORT).",
        )
        parser.add_argument(
            "--rate", type=float, default=DEFAULT_RATE, help="Live transactions per second."
        )
        parser.add_argument("--duration", type=float, default=0, help="Seconds (0: until ^C).")
        parser.add_argument(
            "--history-days",
            type=int,
            default=DEFAULT_HISTORY_DAYS,
            help="Days of simulated history to train the first model on (0: rules only); "
            "only payments older than the label maturity (30 days) are labelled.",
        )
        parser.add_argument(
            "--fraud-boost",
            type=float,
            default=DEFAULT_FRAUD_BOOST,
            help="Live fraud patterns, times their share in the history.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._started = time.monotonic()
        self._challenger: ModelVersion | None = None
        # Held from now on and handed to the server: a busy port fails here, before the slow
        # work, and no other server can take it in between.
        listener = _listen(options["port"])
        try:
            self.check()
        except BaseException:
            listener.close()
            raise
        # SIGTERM stops the demo like ^C does: through the finally blocks that stop the server.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            key, password = self._prepare(options)
            self._run(listener, key, password, options)
        except KeyboardInterrupt:
            self.stdout.write("stopped")
        finally:
            listener.close()

    def _prepare(self, options: dict[str, Any]) -> tuple[str, str]:
        self._phase("migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        self._phase("seeding the rules, lists, queues and people")
        demo_policy_seed()
        # Gated on the model, not on the history: a first run stopped half-way (history partly
        # written, or no model yet) is completed by the next one instead of left on rules only.
        if (
            options["history_days"]
            and not ModelVersion.objects.filter(status=ModelStatus.CHAMPION).exists()
        ):
            self._history_and_model(options["history_days"])
        if settings.FEATURE_STORE == "redis":
            # No beat runs in the demo (the in-process store publishes its own on start-up),
            # and a Redis that restarted since the last run holds no generation.
            call_command("refresh_cold_features")
        password = self._admin()
        demo_workbench_seed(password=password)
        integrator, _ = Integrator.objects.get_or_create(name="simulator")
        return api_key_issue(integrator=integrator).key, password

    def _run(
        self, listener: socket.socket, key: str, password: str, options: dict[str, Any]
    ) -> None:
        url = f"http://127.0.0.1:{options['port']}"
        self._phase(f"starting the server on {url} (it loads the history into memory)")
        server = self._serve(listener)
        listener.close()
        stop = threading.Event()
        watcher = threading.Thread(target=self._challenger_watch, args=(stop,), daemon=True)
        try:
            self._wait_healthy(url, server)
            self._announce(url, password)
            watcher.start()
            call_command(
                "simulate",
                live=True,
                url=url,
                key=key,
                rate=options["rate"],
                duration=options["duration"],
                seed=DEMO_SEED,
                customers=DEMO_CUSTOMERS,
                fraud_boost=options["fraud_boost"],
                # The world of the learning loop's history: its new pattern goes on.
                drift=(
                    demo_timeline(timezone.now()).day(DRIFT_DAY)
                    if options["history_days"] >= DEMO_DAYS
                    else None
                ),
            )
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join(10)
            self.stdout.write("stopping the server")
            _stop(server)

    def _phase(self, what: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self._started:5.1f} s] {what}")

    def _history_and_model(self, days: int) -> None:
        if Transaction.objects.exists():
            self._phase("no model yet: training one on the history there is")
        elif days >= DEMO_DAYS:
            self._learning_loop()
            return
        else:
            self._phase(f"first run: simulating {days} days of history")
            call_command("simulate", days=days, customers=DEMO_CUSTOMERS, seed=DEMO_SEED)
            self._phase("first run: training a model on the history")
        try:
            call_command("train_model", promote=True)
        except CommandError as exc:
            self.stdout.write(f"No model: {exc}. Decisions rest on rules and lists.")

    def _learning_loop(self) -> None:
        timeline = demo_timeline(timezone.now().replace(minute=0, second=0, microsecond=0))
        self._phase(
            f"first run: the learning loop on {DEMO_DAYS} days of history — a champion "
            f"trained before a new fraud pattern, the drift check, a challenger retrained"
        )
        serving.warm_up()
        loop = drift_loop_run(
            seed=DEMO_SEED,
            customers=DEMO_CUSTOMERS,
            timeline=timeline,
            say=lambda line: self._phase(f"  {line}"),
        )
        self._phase(
            f"  challenger {loop.challenger.name} in shadow: AP {loop.challenger_ap:.3f} "
            f"against the champion's {loop.champion_ap:.3f} on the post-drift holdout; "
            f"it is promoted once it has scored {DEMO_SHADOWED} live decisions"
        )
        self._challenger = loop.challenger

    def _challenger_watch(self, stop: threading.Event) -> None:
        """Once the challenger in shadow has scored DEMO_SHADOWED live decisions (the server
        scores them on a thread of its own; this fills too, for a server that does not),
        decide it as a lead would, with the figures as the reason."""
        challenger = self._challenger
        if challenger is None:
            return
        try:
            while not stop.wait(2.0):
                shadow_scores_fill()
                shadowed = ShadowScore.objects.filter(model_version=challenger).count()
                if shadowed >= DEMO_SHADOWED:
                    decided = challenger_decide(challenger=challenger, shadowed=shadowed)
                    self._phase(f"learning loop: {decided}")
                    return
        finally:
            connections.close_all()

    def _admin(self) -> str:
        password = os.getenv("DEMO_ADMIN_PASSWORD", "fraudops-demo")
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USER).exists():
            user_model.objects.create_superuser(ADMIN_USER, "", password)
        return password

    def _serve(self, listener: socket.socket) -> subprocess.Popen[bytes]:
        # One ASGI process: the embedded default keeps features and the channel layer in memory.
        fd = listener.fileno()
        command = [
            sys.executable, "-m", "uvicorn", "fraudops.asgi:application",
            "--fd", str(fd), "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        return subprocess.Popen(command, cwd=settings.BASE_DIR, pass_fds=[fd])  # noqa: S603

    def _wait_healthy(self, url: str, server: subprocess.Popen[bytes]) -> None:
        # The server warms its in-process feature store from the history before it answers
        # (serving.warm_up() at its lifespan start-up): the first health check waits for that.
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
        served = time.monotonic() - self._started
        self.stdout.write(
            f"\nFraudOps demo is running on {backend}, served {served:.0f} s after start. "
            "Look here:\n"
            f"  {url}/cases/                     the analysts' queues, live "
            f"(log in as {people}, each with the password {password})\n"
            f"  {url}/decisions/live             decisions as they happen "
            f"(log in as {ADMIN_USER} / {password})\n"
            f"  {url}/admin/scoring/decision/   every decision's full record\n"
            f"  {url}/admin/rules/rule/          rules, lists and thresholds\n"
            f"  {url}/admin/scoring/modelversion/  the models: champion, challenger, history\n"
            f"  {url}/models/compare             champion against challenger in shadow\n"
            f"  {url}/api/docs/                  the API (OpenAPI)\n"
            f"  {url}/metrics                    Prometheus metrics\n"
            "Sending simulated traffic; a summary follows every 5 s. Ctrl-C stops.\n"
        )


def _listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port``; PortTaken when another process holds it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by the previous demo is free again.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise PortTaken(
            f"Port {port} is already in use ({exc.strerror}): another demo or server holds it. "
            f"Stop it, or run on another port: make demo ARGS='--port {port + 1}' "
            f"(python manage.py demo --port {port + 1})."
        ) from exc
    return listener


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server and wait for it; kill it when it takes too long."""
    # A second ^C or SIGTERM must not cut the wait short and leave the server behind.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
