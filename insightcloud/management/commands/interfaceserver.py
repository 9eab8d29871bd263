"""``manage.py interfaceserver [--bind HOST:PORT]``: the GUI and REST API under gunicorn."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the GUI and the REST API with gunicorn (default 0.0.0.0:8001)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--bind", default=settings.INTERFACE_BIND)
        parser.add_argument("--workers", type=int, default=settings.INTERFACE_WORKERS)
        parser.add_argument("--timeout", type=int, default=60)

    def handle(self, *args, **options) -> None:
        from gunicorn.app.base import BaseApplication

        from insightcloud.wsgi import application
        from scheduler.schema import wait_for_schema

        # During an upgrade, serve once the schema is current; with no database, serve (503) at once.
        wait_for_schema("interfaceserver", wait_while_unreachable=False)

        class InterfaceServer(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", [options["bind"]])
                self.cfg.set("workers", options["workers"])
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("threads", 4)
                self.cfg.set("timeout", options["timeout"])
                self.cfg.set("accesslog", "-")
                self.cfg.set("errorlog", "-")
                self.cfg.set("loglevel", settings.LOG_LEVEL.lower())
                self.cfg.set("proc_name", "insightcloud-interfaceserver")

            def load(self):  # noqa: ANN202
                return application

        InterfaceServer().run()
