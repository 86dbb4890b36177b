"""Corpus analysis in the manner of WIMBD ("What's In My Big Data?"): exact counts of what a Dolma dataset holds,
per source and overall, and counts of a query's occurrences.

The commands are ``olmo data stats`` (the stats job, :mod:`olmo_data.commands.stats`) and ``olmo data count``
(:mod:`olmo_data.commands.count`), both registered by :mod:`olmo_data.plugin`. The modules here are their implementation: :mod:`~olmo_data.analysis.text` (words, n-grams, paragraphs,
hashes), :mod:`~olmo_data.analysis.counts` (exact per-file counts), :mod:`~olmo_data.analysis.report` (the
``stats.json`` entries), :mod:`~olmo_data.analysis.figures` and :mod:`~olmo_data.analysis.search`.
"""
