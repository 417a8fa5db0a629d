"""The student release in other languages (python tools/release.py --lang zh).

The English stays in the source, where it is read today. texts.py finds every text a student
reads in a file of the release; catalog.py reads a language's catalog (zh.toml: each English
text, by file, with its translation) and puts each translation in place of its English;
literals.py writes a translated message back as Python string literals.
"""
