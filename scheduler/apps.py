from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler and jobs"

    def ready(self) -> None:
        from scheduler import heartbeat, jobs, tasks  # noqa: F401  (registers job kinds, tasks, signals)
