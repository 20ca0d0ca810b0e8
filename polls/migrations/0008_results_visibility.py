"""Poll.results is named for what it is, results_visibility, in the code;
the column keeps its name (db_column), so the database does nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("polls", "0007_fewer_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("poll", "results", "results_visibility"),
                migrations.AlterField(
                    model_name="poll",
                    name="results_visibility",
                    field=models.CharField(
                        choices=[
                            ("live", "Live"),
                            ("after_vote", "After Vote"),
                            ("after_close", "After Close"),
                        ],
                        db_column="results",
                        default="live",
                        max_length=12,
                    ),
                ),
            ],
            database_operations=[],
        )
    ]
