"""The ``rapport`` console script: Django's management commands under one name.

``rapport serve``, ``rapport migrate``, ``rapport demo``, ``rapport workspace create``,
``rapport user create``, ``rapport token create`` and ``rapport bench`` are management commands
of the Rapport apps; every other Django command works too (``rapport check --deploy``).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rapport", *sys.argv[1:]])


if __name__ == "__main__":
    main()
