from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from polls.models import Poll
from polls.serializers import poll_urls
from polls.services import poll_create

DEMO_USER = "demo"
DEMO_PASSWORD = "nexus-demo-password"
DEMO_QUESTION = "What should the team build next?"


class Command(BaseCommand):
    help = "Create the demo user and an open demo poll (once), and print their URLs."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url, **options):
        user, created = get_user_model().objects.get_or_create(username=DEMO_USER)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        poll = Poll.objects.filter(owner=user, question=DEMO_QUESTION).first() or poll_create(
            owner=user,
            question=DEMO_QUESTION,
            choices=["Live word clouds", "Quizzes with scores", "Slide-deck plug-in", "Q&A"],
        )
        self.stdout.write(f"Demo user: {DEMO_USER} / {DEMO_PASSWORD}")
        self.stdout.write(f"Demo poll {poll.id}: {poll.question}")
        for name, url in poll_urls(poll.id).items():
            scheme_url = base_url.replace("http", "ws", 1) if name == "websocket" else base_url
            self.stdout.write(f"  {name:<9} {scheme_url}{url}")
        self.stdout.write(f"  api docs  {base_url}/api/docs/")
        first = poll.choices.order_by("position", "id").first()
        self.stdout.write(
            f"Try a vote: curl -s -XPOST {base_url}{poll_urls(poll.id)['vote']} "
            f"-H 'Content-Type: application/json' -d '{{\"choices\":[{first.pk}]}}'"
        )
