"""Delete expired admin sessions, old sign-in failures and old finished build tasks; purge
the recycle bin and free the registry storage it held."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from lifecycle import policies
from tutumweb.housekeeping import Reclaimed, reclaim, sweep


class Command(BaseCommand):
    help = (
        "Delete expired sessions, sign-in failures past their lockout and old task results; "
        "purge the recycle bin and collect the registry's garbage."
    )

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
                f"older than AUDIT_DAYS, {swept.list_walks} idle walks of offset pages, "
                f"{swept.write_tokens} expired registry write tokens, "
                f"{swept.webhook_deliveries} old webhook deliveries "
                f"({swept.webhook_deliveries_resumed} lost ones queued again)"
            )
            runs = policies.run_all()
            removed = [item for run in runs for item in run.removed]
            tags = sum(1 for item in removed if item.get("tag"))
            self.stdout.write(
                f"cleanup policies: {len(runs)} ran, {tags} tags and {len(removed) - tags} "
                "untagged manifests moved to the recycle bin"
            )
            self.stdout.write(_describe(reclaim()))
            if not every:
                return
            time.sleep(every)


def _describe(reclaimed: Reclaimed) -> str:
    purged = reclaimed.purged
    text = (
        f"recycle bin: purged {purged.entries} expired entries and {purged.orphans} orphan "
        f"repositories ({purged.failed} failed); "
    )
    if purged.postponed:
        text = "recycle bin: purging waits for the next round, a backup is copying the storage; "
    collected = reclaimed.collected
    if collected is None:
        return text + f"garbage collection skipped: {reclaimed.skipped}"
    return text + (
        f"garbage collection freed {collected.bytes_freed} bytes ({collected.bytes_before} "
        f"-> {collected.bytes_after}), {collected.blobs_deleted} blobs, "
        f"{collected.bin_repositories_removed} empty bin repositories in "
        f"{collected.seconds:.1f} s; {collected.blobs_deferred} left for later (a push was "
        f"using them), {collected.blobs_restored} put back (a push used them meanwhile)"
    )
