"""The archive side of NeuralTalk; it never imports bot/.

parse/ (markdown -> Issue) feeds ingest/ (Issue list -> a new index generation), which search/
(query -> Hits) reads; both keep to layout.py (the index directory and its version) and use
substring/ (exact substring lookup by arrays) and text.py (what a word is made of).
"""
