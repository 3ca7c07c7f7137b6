"""The WeChat side of NeuralTalk: webhook, replies, subscribers, broadcast, the CLI."""
