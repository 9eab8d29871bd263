from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler and jobs"

    def ready(self) -> None:
        from scheduler import actions, heartbeat, jobs, metrics, tasks  # noqa: F401  (job kinds, tasks, signals)

        # AWS actions register into the "actions" registry; boto3 is imported only when one runs.
        import_module("harvesters.aws.actions")
        for module in settings.JOB_MODULES:  # plug-ins (and tests' throw-away kinds in worker processes)
            import_module(module)
