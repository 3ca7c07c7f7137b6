"""State shared by every process and host of one account, on Redis (redis.url): the client
(Shared, with one pipeline per moment and SharedUnavailable while Redis is away) and the
access_token renewal's lock. The chat's retries, pages and replays (bot.chat.redis_state) and
the broadcast's token renewal use it; it imports nothing of chat or broadcast."""

from bot.shared.redis_client import Shared, SharedUnavailable, token_lock

__all__ = ["Shared", "SharedUnavailable", "token_lock"]
