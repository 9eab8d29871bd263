"""``manage.py testdrive``: the whole product on one host, on embedded defaults unless configured.

Migrates, makes sure an admin exists (printing a new one's password once), then runs the
interface server, the scheduler, a general worker and a dedicated p0 worker as child processes,
prefixing their output, and stops them all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = "Run the interface server, scheduler and workers together (test drive)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--bind", default=settings.INTERFACE_BIND)
        parser.add_argument("--concurrency", type=int, default=2, help="general worker processes")
        parser.add_argument(
            "--demo", action="store_true", help="also run a local moto server with a demo AWS estate ('Demo AWS')"
        )

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.ensure_admin()
        demo = self.start_demo() if options["demo"] else None
        self.stdout.write(self.style.SUCCESS(f"InsightCloud test drive on http://{options['bind']}/ (Ctrl-C stops it)"))
        self.stdout.flush()
        # From here on Ctrl-C/SIGTERM only ask us to stop: the children run in sessions of their own,
        # so dying at once (say, while a worker is still starting) would leave them running.
        self.stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        children = self.start_children(options)
        code = self.supervise(children)
        if demo is not None:
            demo.stop()
        sys.exit(code)

    def start_demo(self):  # noqa: ANN201
        """A moto server in this process, seeded, registered as "Demo AWS" and harvested by a worker."""
        from harvesters.aws.demo import DemoUnavailable, start_demo

        try:
            server, cloud, job = start_demo()
        except DemoUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Demo AWS estate on {server.endpoint_url} (cloud {cloud.name!r}, harvest job {job.pk})")
        )
        return server

    def ensure_admin(self) -> None:
        from insightcloud.accounts.models import AccessLevel, User
        from insightcloud.inventory.models import Organization

        with transaction.atomic():
            organization, _ = Organization.objects.get_or_create(slug="default", defaults={"name": "Default"})
            if User.objects.exists():
                self.stdout.write("Users already exist; log in with your account.")
                return
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(
                "admin",
                email="",
                password=password,
                organization=organization,
                access_level=AccessLevel.DOMAIN_ADMIN,
            )
        self.stdout.write(self.style.WARNING(f"Created user 'admin' with password: {password}  (shown only once)"))

    def start_children(self, options: dict) -> dict[str, subprocess.Popen]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": [*manage, "interfaceserver", "--bind", options["bind"]],
            "scheduler": [*manage, "scheduler"],
            "worker": [*manage, "worker", "--queues", "p0,p1,p2", "--concurrency", str(options["concurrency"])],
            # A dedicated p0 worker: on-demand work starts at once even when every general worker is busy.
            "worker-p0": [*manage, "worker", "--queues", "p0", "--concurrency", "1"],
        }
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        children = {}
        for label, command in commands.items():
            if self.stopping.is_set():
                break  # asked to stop while starting: supervise() stops what did start
            child = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
            )
            threading.Thread(target=self.forward, args=(label, child), daemon=True).start()
            children[label] = child
            if label == "worker":
                self.wait_for_worker(child)
        return children

    def wait_for_worker(self, child: subprocess.Popen, timeout: float = 60) -> None:
        """Start the next worker once this one is ready: two workers declaring their queues at the
        same moment can read each other's half-written exchange table on the embedded
        (filesystem) broker, and one of them dies with a JSON error."""
        from django.utils import timezone

        from scheduler.models import ProcessHeartbeat, ProcessRole

        started, deadline = timezone.now(), time.monotonic() + timeout
        while time.monotonic() < deadline and child.poll() is None and not self.stopping.is_set():
            if ProcessHeartbeat.objects.filter(role=ProcessRole.WORKER, beat_at__gte=started).exists():
                return
            time.sleep(0.5)

    def forward(self, label: str, child: subprocess.Popen) -> None:
        for line in child.stdout:
            sys.stdout.write(f"[{label}] {line}")
            sys.stdout.flush()

    def supervise(self, children: dict[str, subprocess.Popen]) -> int:
        code = 0
        while not self.stopping.wait(0.5):
            dead = {label: child.poll() for label, child in children.items() if child.poll() is not None}
            if dead:
                label, status = next(iter(dead.items()))
                self.stderr.write(f"{label} exited with code {status}; stopping the test drive")
                code = 1
                break
        self.stop(children)
        return code

    def stop(self, children: dict[str, subprocess.Popen]) -> None:
        self.stdout.write("stopping …")
        # SIGTERM to each child's main process only: Celery and gunicorn then shut their own pools
        # down in order (signalling the whole group would kill pool processes mid-task).
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for label, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{label} did not stop in {STOP_GRACE_SECONDS}s; killing it")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.stdout.write("stopped")
