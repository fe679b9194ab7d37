"""What deleting an account removes besides its rows, which go with it (echofu.ownership.owner_field)
and take their files, and its jobs' rows, whose workers then stop as cancelled."""
from django.db import transaction

from echofu.ownership import account_recordings_folder
from echofu.stored_files import remove_unreferenced


def remove_recordings(sender, instance, using=None, **_signal) -> None:
    """The account's browser recordings: files no row names, in a folder of its own (the legacy
    folder of single-user mode is never its own, and stays)."""
    folder = account_recordings_folder(instance.pk)
    transaction.on_commit(lambda: remove_unreferenced([folder]), using=using)
