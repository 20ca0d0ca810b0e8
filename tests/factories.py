import factory
from django.contrib.auth import get_user_model

from polls.services import poll_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


def make_poll(*, owner, question="Which colour?", choices=("Red", "Green", "Blue"), **options):
    """A poll made the way the API makes it (join code, choices, version)."""
    return poll_create(owner=owner, question=question, choices=list(choices), **options)
