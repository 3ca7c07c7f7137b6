"""The archive side of NeuralTalk: parse newsletter issues, build and query the Whoosh index."""
