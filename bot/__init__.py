"""The WeChat side of NeuralTalk. Dependencies point down: cli → chat, broadcast → store,
wechat, index; wechat imports nothing of ours (tests/test_layers.py checks it). config/,
render.py and errors.py are shared by all of them."""
