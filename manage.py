#!/usr/bin/env python3
"""InsightCloud's admin entry point: ``python manage.py <command>``."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")
    from insightcloud.env import SettingError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except SettingError as exc:
        # A misconfiguration is one clear line, not a traceback wall.
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
