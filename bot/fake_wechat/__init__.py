"""The fake WeChat API server (`neuraltalk mock-wechat`): speaks the API's real HTTP, records every
message and injects faults, for rehearsals and tests."""
