"""`/graphql/` over WebSocket (graphql-transport-ws), with the same message
budget as the live-results sockets (budget.py)."""

import asyncio
import logging

from strawberry.channels import GraphQLWSConsumer

from .budget import CLOSE_CODE, MessageBudget

logger = logging.getLogger("nexus.realtime")


class GraphQLSocketConsumer(GraphQLWSConsumer):
    async def connect(self) -> None:
        self.budget, self.flooded = MessageBudget(), False
        await super().connect()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.flooded:
            return
        if not self.budget.spend():
            return await self.flood("sent messages too fast")
        await super().receive(text_data, bytes_data)

    def encode_json(self, data: object) -> str | bytes:
        # Every message strawberry sends passes here; "error" answers a bad
        # subscribe (validation, unknown field), which the client caused.
        if isinstance(data, dict) and data.get("type") == "error" and not self.budget.fail():
            asyncio.ensure_future(self.flood("caused too many errors"))
        return super().encode_json(data)

    async def flood(self, why: str) -> None:
        if self.flooded:
            return
        self.flooded = True
        logger.info("Closing a GraphQL socket that %s", why)
        await self.close(code=CLOSE_CODE)
        # strawberry's protocol loop reads its queue until it is told the end
        self.message_queue.put_nowait({"message": None, "disconnected": True})
