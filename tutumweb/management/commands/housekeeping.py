"""Delete expired admin sessions, old sign-in failures and old finished build tasks."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from tutumweb.housekeeping import sweep


class Command(BaseCommand):
    help = "Delete expired sessions, sign-in failures past their lockout and old task results."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            metavar="SECONDS",
            help="Keep running, sweeping every SECONDS (what `make run` does).",
        )

    def handle(self, *args, every: int | None = None, **options):
        while True:
            swept = sweep()
            self.stdout.write(
                f"deleted {swept.sessions} expired sessions, {swept.sign_in_failures} old "
                f"sign-in failures, {swept.task_results} old build task results, "
                f"{swept.admin_sign_ins} expired admin sign-ins, "
                f"{swept.invitations} old invitations, {swept.audit_events} audit events "
                "older than AUDIT_DAYS"
            )
            if not every:
                return
            time.sleep(every)
