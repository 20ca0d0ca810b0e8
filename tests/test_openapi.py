import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    vote = schema["paths"]["/api/polls/{poll_id}/votes/"]["post"]
    assert set(vote["responses"]) == {"200", "201", "400", "401", "403", "404", "409", "422", "429"}
    examples = vote["responses"]["409"]["content"]["application/json"]["examples"]
    assert {e["value"]["code"] for e in examples.values()} == {"already_voted", "poll_closed"}
    assert schema["paths"]["/api/polls/{poll_id}/results/"]["get"]["responses"]["403"]


def test_schema_and_swagger_ui_are_served(api):
    assert api.get("/api/schema/").status_code == 200
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
