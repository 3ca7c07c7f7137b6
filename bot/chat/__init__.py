"""The conversation: the aiohttp webhook application and its handler (verify → parse → dedupe →
reply → render), the replies to followers' keywords and commands, their sessions and texts."""
