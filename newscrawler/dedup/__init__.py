"""Story deduplication: MinHash signatures and LSH band keys (pure), and cluster decisions over a batch."""
