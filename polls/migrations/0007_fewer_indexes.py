"""Drop the indexes Django gives each foreign key where a composite index or
unique constraint already starts with that column (see the comment on
Poll.owner). Only the indexes go: Django's own AlterField would also drop and
re-add each foreign key, which re-validates every row of a big ballot table
under a lock that stops votes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, index): the index names Django gave them in 0001.
REDUNDANT = [
    ("polls_ballot", "poll_id", "polls_ballot_poll_id_61cb5a81"),
    ("polls_ballotchoice", "ballot_id", "polls_ballotchoice_ballot_id_550ea655"),
    ("polls_ballotchoice", "poll_id", "polls_ballotchoice_poll_id_7f6eecb3"),
    ("polls_choice", "poll_id", "polls_choice_poll_id_3a553f1a"),
    ("polls_poll", "owner_id", "polls_poll_owner_id_ba682987"),
]
# Postgres also has a varchar_pattern_ops twin of each varchar one, and of
# the poll's id, for LIKE, which nothing runs on these columns; on SQLite
# they do not exist.
LIKE = ["polls_ballot_poll_id_61cb5a81", "polls_ballotchoice_poll_id_7f6eecb3"]
LIKE += ["polls_choice_poll_id_3a553f1a", "polls_poll_id_38a47828"]


def fk(to, on_delete, related_name):
    return models.ForeignKey(db_index=False, on_delete=on_delete, related_name=related_name, to=to)


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0006_mark_value"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    "ballot", "poll", fk("polls.poll", django.db.models.deletion.CASCADE, "ballots")
                ),
                migrations.AlterField(
                    "ballotchoice",
                    "ballot",
                    fk("polls.ballot", django.db.models.deletion.DO_NOTHING, "marks"),
                ),
                migrations.AlterField(
                    "ballotchoice",
                    "poll",
                    fk("polls.poll", django.db.models.deletion.DO_NOTHING, "+"),
                ),
                migrations.AlterField(
                    "choice", "poll", fk("polls.poll", django.db.models.deletion.CASCADE, "choices")
                ),
                migrations.AlterField(
                    "poll",
                    "owner",
                    fk(settings.AUTH_USER_MODEL, django.db.models.deletion.CASCADE, "polls"),
                ),
            ],
            database_operations=[
                *(
                    migrations.RunSQL(
                        f'DROP INDEX IF EXISTS "{index}"',
                        reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                    )
                    for table, column, index in REDUNDANT
                ),
                *(
                    migrations.RunSQL(
                        f'DROP INDEX IF EXISTS "{index}_like"', migrations.RunSQL.noop
                    )
                    for index in LIKE
                ),
            ],
        ),
    ]
