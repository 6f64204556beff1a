"""Documents get a side (front/back for ID cards and driving licences, else one page), and the
client's uploads are labelled `client:<profile id>` instead of the login name (an e-mail)."""

from django.conf import settings
from django.db import migrations, models

TWO_SIDED = ("national_id", "driving_licence")


def existing_rows_forward(apps, schema_editor):
    KycDocument = apps.get_model("kyc", "KycDocument")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    documents = KycDocument.objects.all()
    # A card uploaded before sides existed was one picture: most likely of its front, so the
    # client's draft asks for the back and nothing breaks the new rule.
    documents.filter(kind="identity", doc_type__in=TWO_SIDED).update(side="front")
    labels = set(documents.values_list("uploaded_by", flat=True).distinct())
    clients = dict(
        User.objects.filter(kind="client", username__in=labels).values_list(
            "username", "profile_id"
        )
    )
    # "client" was the label of uploads made with no login (unless a staff member is so named).
    anonymous = [] if User.objects.filter(username="client").exists() else ["client"]
    for row in documents.filter(uploaded_by__in=[*clients, *anonymous]).values(
        "pk", "uploaded_by", "kyc_file__profile_id"
    ):
        profile_id = row["kyc_file__profile_id"]
        if row["uploaded_by"] in anonymous or clients.get(row["uploaded_by"]) == profile_id:
            documents.filter(pk=row["pk"]).update(uploaded_by=f"client:{profile_id}")


class Migration(migrations.Migration):
    dependencies = [
        ("entities", "0004_legal_documents"),
        ("kyc", "0003_document_review"),
        # The client logins' kind and profile, read below.
        ("accounts", "0003_user_profile"),
    ]

    operations = [
        migrations.AddField(
            model_name="kycdocument",
            name="side",
            field=models.CharField(
                choices=[("single", "One page"), ("front", "Front"), ("back", "Back")],
                default="single",
                max_length=6,
            ),
        ),
        migrations.RunPython(existing_rows_forward, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="kycdocument",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("side", "single"),
                    models.Q(
                        ("doc_type__in", ("national_id", "driving_licence")),
                        ("kind", "identity"),
                        ("side__in", ["front", "back"]),
                    ),
                    _connector="OR",
                ),
                name="kycdocument_side_valid",
            ),
        ),
    ]
