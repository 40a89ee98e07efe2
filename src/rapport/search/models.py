from django.db import models


class SearchEntry(models.Model):
    """One searchable record: the text global search matches, kept in step by the services.

    SQLite indexes ``title``/``text`` in an FTS5 trigram table fed by triggers; PostgreSQL
    uses pg_trgm and tsvector GIN indexes on the same columns (see the migrations).
    """

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    object_type = models.CharField(max_length=64)  # "contacts.person"
    object_id = models.UUIDField()
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"], name="search_entry_unique_object"
            )
        ]
        indexes = [models.Index(fields=["workspace", "title"])]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"
