"""Demo data: 36 hours of mentions of the fictional city of Rivebelle (see README.md in this folder).

`python -m listener.demo.generate` rewrites rivebelle.jsonl and posts.json byte-identically.
"""
