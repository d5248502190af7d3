"""Migration assessment: what exists on both sides, coverage, the starter config, the cost."""
