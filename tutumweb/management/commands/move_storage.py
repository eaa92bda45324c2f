"""`manage.py move_storage [TARGET_STORAGE_URL]`: copy our registry's filesystem storage into an
S3 bucket (tutumweb.moves.storage)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lib.storage_url import StorageUrlError, parse_storage_url
from tutumweb.backups.archive import in_words, progress_lines
from tutumweb.moves import MoveError
from tutumweb.moves.storage import StorageMoved, move_storage


class Command(BaseCommand):
    help = (
        "Copy our registry's filesystem storage (the one REGISTRY_CONFIG names) into an S3 "
        "bucket: blobs first, tags last, leaving out uploads in progress and what the bucket "
        "holds already, then check every file there. Stop the registry first; run it again "
        "to go on after a stop. Then set REGISTRY_STORAGE_URL and run setup_instance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "target",
            nargs="?",
            default="",
            metavar="TARGET_STORAGE_URL",
            help=(
                "s3://ACCESS_KEY:SECRET_KEY@host:port/bucket?rootdirectory=/registry, as "
                "REGISTRY_STORAGE_URL takes it. Left out: REGISTRY_STORAGE_URL, which keeps the "
                "keys out of the process list."
            ),
        )

    def handle(self, *args, target: str, **options):
        if target:
            try:
                storage = parse_storage_url(target)
            except StorageUrlError as error:
                raise CommandError(f"TARGET_STORAGE_URL {error}.") from None
        else:
            storage = settings.REGISTRY_STORAGE
        if storage is None:
            raise CommandError(
                "Give TARGET_STORAGE_URL (s3://...), or set REGISTRY_STORAGE_URL to it."
            )
        progress = progress_lines(self.stdout.write, lambda step: step.name)
        try:
            moved = move_storage(storage, progress=progress)
        except MoveError as error:
            raise CommandError(str(error)) from error
        for line in _report(moved):
            self.stdout.write(line)


def _files(count: int) -> str:
    return f"{count:,} file" if count == 1 else f"{count:,} files"


def _report(moved: StorageMoved) -> list[str]:
    lines = [f"Moved the registry's storage: {moved.source} -> {moved.target}."]
    for step in moved.steps:
        line = f"  {step.name}: {_files(step.files)}, {in_words(step.bytes)} copied"
        if step.kept_files:
            line += f"; {_files(step.kept_files)}, {in_words(step.kept_bytes)} already there"
        lines.append(f"{line} ({step.seconds:.1f} s)")
    left_out = f"left out: {_files(moved.uploads_left_out)} of uploads in progress"
    if moved.symlinks:
        left_out += f", {moved.symlinks:,} symbolic links (never followed)"
    lines.append(left_out)
    lines.append(
        f"checked: the bucket holds every one of the {moved.checked:,} files with its size "
        f"(and its MD5 for the {moved.checked_md5:,} below 8 MB)"
    )
    if moved.others:
        lines.append(
            f"the bucket also holds {moved.others:,} objects the storage does not (left alone"
            + (
                f"; {moved.other_tags:,} of them tags, which the registry will serve"
                if moved.other_tags
                else ""
            )
            + ")"
        )
    lines.append(
        f"Done in {moved.seconds:.1f} s: {_files(moved.files)}, {in_words(moved.bytes)} copied, "
        f"{moved.kept_files:,} already there. Next: REGISTRY_STORAGE_URL set to the bucket on "
        "every machine, `manage.py setup_instance` (it writes the registry's config); the "
        'storage here stays as it was (docs/operations.md, "Moving to several machines").'
    )
    return lines
